"""The ``spleeter`` separation backend: spleeter's own model code in one TensorFlow session.

spleeter's ``Separator.separate`` builds a new estimator graph on every call (~3.5 s); a job that
separates segment after segment must not pay that each time. This backend builds spleeter's
prediction graph once (``spleeter.model.EstimatorSpecBuilder`` on a waveform placeholder, exactly
the graph spleeter's estimator runs), restores the checkpoint into one ``tf.compat.v1.Session``,
and runs that session per segment.

Needs the ``[spleeter]`` extra (spleeter 2.4.2: Python < 3.12, TensorFlow 2.12, numpy < 2), which
lives in its own virtual environment (``make spleeter-env`` builds ``.venv-spleeter``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtaudio.errors import ModelError, ParameterError, require
from rtaudio.jobs.separation.base import from_pairs, to_pairs
from rtaudio.models.spleeter import STEM_NAMES, checkpoint_files, is_test_model, spleeter_config


class SpleeterBackend:
    """spleeter's U-Net in one TF session.

    Parameters
    ----------
    path : Path
        Model folder with a TensorFlow checkpoint (spleeter's ``pretrained_models/2stems`` layout).
    stems : {2, 4, 5}
    """

    name = "spleeter"
    overlap_s = 1.0
    level_normalize = True  # the Separator raises quiet segments to a mastered level (see base.level_gain)

    def __init__(self, path: Path, *, stems: int = 2):
        require("spleeter", "spleeter")
        tf = require("tensorflow", "spleeter")
        from spleeter.model import EstimatorSpecBuilder

        path = Path(path)
        checkpoint_files(path)
        self.params = params = spleeter_config(path, stems)
        params["model_dir"] = str(path)
        params["MWF"] = False
        self.rate = int(params["sample_rate"])
        self.stems = STEM_NAMES[stems]
        missing = set(self.stems) - set(params["instrument_list"])
        if missing:
            raise ModelError(
                f"model {str(path)!r} has no stem(s) {sorted(missing)}; it separates {params['instrument_list']}"
            )
        # a segment is one network chunk of T frames, less the frame of zeros spleeter puts in front
        self.segment_s = (params["T"] * params["frame_step"] - params["frame_length"]) / self.rate
        self.model = {
            "name": f"spleeter-{stems}stems",
            "path": str(path),
            "test_model": is_test_model(path),
            "framework": f"tensorflow {tf.__version__}",
        }
        self._graph = tf.Graph()
        with self._graph.as_default():
            self._input = tf.compat.v1.placeholder(tf.float32, shape=(None, params["n_channels"]), name="waveform")
            builder = EstimatorSpecBuilder({"waveform": self._input}, params)
            self._outputs = [builder.outputs[s] for s in self.stems]
            saver = tf.compat.v1.train.Saver()
            self._session = tf.compat.v1.Session(graph=self._graph)
            try:
                saver.restore(self._session, tf.train.latest_checkpoint(str(path)))
            except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, ValueError) as exc:
                self._session.close()
                first = str(exc).strip().splitlines()[0][:300]
                raise ModelError(
                    f"the checkpoint in {str(path)!r} does not fit spleeter's {stems}stems model "
                    f"({first}); expected spleeter's pretrained {stems}stems folder"
                ) from None

    def separate(self, x: np.ndarray, rate: int) -> np.ndarray:
        """Stems of ``x`` ((n, channels) float32 at 44.1 kHz): (stems, n, channels) float32."""
        if rate != self.rate:
            raise ParameterError(f"rate={rate}: the spleeter backend runs at {self.rate} Hz (the Separator resamples)")
        n, channels = x.shape
        results = []
        for pair, stereo in to_pairs(x):
            y = self._session.run(self._outputs, {self._input: stereo})
            results.append((pair, np.stack(y).astype(np.float32)))
        return from_pairs(results, len(self.stems), n, channels)

    def close(self) -> None:
        if getattr(self, "_session", None) is not None:
            self._session.close()
            self._session = None
