"""The ``onnx`` separation backend: a spleeter checkpoint exported to ONNX, run with onnxruntime.

Only spleeter's U-Net goes into the ONNX graph (input: the mix magnitude spectrogram,
(chunks, frames, 1024, 2); output: one spectrogram estimate per stem). Everything around it is done
here in numpy exactly as spleeter's TensorFlow graph does it (``spleeter.model.EstimatorSpecBuilder``):

- STFT: a frame of zeros (4096 samples) in front, periodic Hann window of 4096, hop 1024, end padded
  (``tf.signal.stft(..., pad_end=True)``); magnitudes of the first F=1024 bins, cut into chunks of
  ``frames`` frames (zero-padded);
- masks: ``(out_i² + eps/n) / (Σ out_j² + eps)`` (separation exponent 2), extended above bin F with
  zeros (or the mean, per the config), applied to the complex STFT;
- inverse STFT: ``tf.signal.inverse_stft`` with the same Hann window (plain overlap-add) times 2/3,
  the leading frame cut off.

``frames`` must be a multiple of 64 (the U-Net halves the time axis six times). 512 is spleeter's own
chunk (11.9 s); 64 (1.49 s) lets separation follow a live stream a couple of seconds behind.
Exporting (:func:`export_spleeter`) needs TensorFlow and tf2onnx (the ``[spleeter]`` extra);
inference needs only onnxruntime (``[stems-onnx]``) and works with numpy 1.24+ and 2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from rtaudio.dsp.frames import istft, stft
from rtaudio.errors import ModelError, ParameterError, require
from rtaudio.jobs.separation.base import from_pairs, to_pairs
from rtaudio.models.spleeter import (
    ONNX_META,
    STEM_NAMES,
    TEST_MARKER,
    checkpoint_files,
    is_test_model,
    spleeter_config,
)

EPSILON = 1e-10  # spleeter's EstimatorSpecBuilder.EPSILON
WINDOW_COMPENSATION_FACTOR = 2.0 / 3.0


def spleeter_stft(x: np.ndarray, frame_length: int = 4096, frame_step: int = 1024) -> np.ndarray:
    """spleeter's STFT of ``x`` ((n, channels) float): (frames, frame_length // 2 + 1, channels) complex64."""
    count = -(-(len(x) + frame_length) // frame_step)  # tf.signal.frame(pad_end=True) after the frame of zeros
    spec = stft(np.asarray(x, np.float32).T, frame_length, frame_step, pad_start=frame_length, count=count)
    return np.ascontiguousarray(spec.transpose(1, 2, 0))


def spleeter_istft(spec: np.ndarray, n: int, frame_length: int = 4096, frame_step: int = 1024) -> np.ndarray:
    """spleeter's inverse of :func:`spleeter_stft`: (n, channels) float32."""
    out = istft(spec.transpose(2, 0, 1), frame_length, frame_step, length=n, offset=frame_length, normalize=False)
    out *= np.float32(WINDOW_COMPENSATION_FACTOR)
    return np.ascontiguousarray(out.T)


def separate_by_masks(x: np.ndarray, params: dict, masks_of, stems: int) -> np.ndarray:
    """``x`` ((n, channels) float32 at 44.1 kHz) through spleeter's STFT, ``masks_of(spec)`` (one mask per stem)
    and the inverse STFT, a stereo pair at a time: (stems, n, channels) float32."""
    n, channels = x.shape
    results = []
    for pair, stereo in to_pairs(x):
        spec = spleeter_stft(stereo, params["frame_length"], params["frame_step"])
        y = [spleeter_istft(spec * m, n, params["frame_length"], params["frame_step"]) for m in masks_of(spec)]
        results.append((pair, np.stack(y)))
    return from_pairs(results, stems, n, channels)


def spleeter_masks(outputs: list[np.ndarray], exponent: float, bins: int, extension: str) -> list[np.ndarray]:
    """spleeter's ratio masks from the stems' spectrogram estimates ((frames, F, ch) each), extended to ``bins``."""
    powered = [o.astype(np.float32) ** exponent for o in outputs]
    total = sum(powered) + EPSILON
    masks = []
    for p in powered:
        m = (p + EPSILON / len(outputs)) / total
        extra = bins - m.shape[1]
        if extension == "zeros":
            row = np.zeros((m.shape[0], 1, m.shape[2]), np.float32)
        elif extension == "average":
            row = m.mean(axis=1, keepdims=True)
        else:
            raise ModelError(f"mask_extension={extension!r} in the model's config must be 'zeros' or 'average'")
        masks.append(np.concatenate([m, np.repeat(row, extra, axis=1)], axis=1))
    return masks


# -------------------------------------------------------------------------------------- backend


class OnnxBackend:
    """An exported spleeter model with onnxruntime.

    Parameters
    ----------
    path : Path
        Folder with ``model.onnx`` and ``rtaudio-spleeter.json`` (written by :func:`export_spleeter`).
    stems : {2, 4, 5}
    frames : int, multiple of 64, optional
        STFT frames per network call (default: spleeter's T = 512).
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's choice).
    """

    name = "onnx"
    overlap_s = 1.0
    level_normalize = True  # the Separator raises quiet segments to a mastered level (see base.level_gain)

    def __init__(self, path: Path, *, stems: int = 2, frames: int | None = None, threads: int | None = None):
        ort = require("onnxruntime", "stems-onnx")
        path = Path(path)
        try:
            meta = json.loads((path / ONNX_META).read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot read {str(path / ONNX_META)!r} ({exc}); export the model again with "
                "'rtaudio models export-spleeter'"
            ) from None
        self.meta = meta
        self.params = params = meta["params"]
        self.stems = STEM_NAMES[stems]
        missing = set(self.stems) - set(params["instrument_list"])
        if missing or len(params["instrument_list"]) != stems:
            raise ModelError(f"exported model {str(path)!r} separates {params['instrument_list']}, not {stems} stems")
        self.frames = int(frames or params["T"])
        if self.frames % 64 or self.frames <= 0:
            raise ParameterError(f"frames={self.frames} must be a positive multiple of 64")
        self.rate = int(params["sample_rate"])
        self.segment_s = (self.frames * params["frame_step"] - params["frame_length"]) / self.rate
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self._session = ort.InferenceSession(str(path / "model.onnx"), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"onnxruntime cannot load {str(path / 'model.onnx')!r} ({exc}); export it again") from None
        self._input = self._session.get_inputs()[0].name
        names = [o.name for o in self._session.get_outputs()]
        self._order = [names.index(meta["outputs"][s]) for s in self.stems]
        self.model = {
            "name": f"spleeter-{stems}stems-onnx",
            "path": str(path),
            "test_model": bool(meta.get("test_model")) or is_test_model(path),
            "source": meta.get("source"),
            "frames": self.frames,
            "framework": f"onnxruntime {ort.__version__}",
        }

    def spectrograms(self, mag: np.ndarray) -> list[np.ndarray]:
        """The U-Net's stem spectrograms for a magnitude spectrogram (chunks, frames, F, 2)."""
        outs = self._session.run(None, {self._input: mag.astype(np.float32)})
        return [outs[i] for i in self._order]

    def separate(self, x: np.ndarray, rate: int) -> np.ndarray:
        """Stems of ``x`` ((n, channels) float32 at 44.1 kHz): (stems, n, channels) float32."""
        if rate != self.rate:
            raise ParameterError(f"rate={rate}: the onnx backend runs at {self.rate} Hz (the Separator resamples)")
        return separate_by_masks(x, self.params, self.masks, len(self.stems))

    def masks(self, spec: np.ndarray) -> list[np.ndarray]:
        """spleeter's masks, one per stem ((frames, bins, 2) float32), for a stereo :func:`spleeter_stft` ``spec``."""
        p = self.params
        count = len(spec)
        chunks = -(-count // self.frames)
        mag = np.zeros((chunks * self.frames, p["F"], 2), np.float32)
        mag[:count] = np.abs(spec[:, : p["F"], :])
        outs = self.spectrograms(mag.reshape(chunks, self.frames, p["F"], 2))
        outs = [o.reshape(chunks * self.frames, p["F"], 2)[:count] for o in outs]
        return spleeter_masks(outs, p["separation_exponent"], spec.shape[1], p["mask_extension"])

    def close(self) -> None:
        self._session = None


# --------------------------------------------------------------------------------------- export


def export_spleeter(
    model_dir: str | os.PathLike, out_dir: str | os.PathLike, *, stems: int = 2, opset: int = 13
) -> Path:
    """Convert the spleeter checkpoint in ``model_dir`` to ``out_dir/model.onnx`` (+ metadata).

    The graph is spleeter's own U-Net (built by ``spleeter.model.EstimatorSpecBuilder`` on a
    spectrogram placeholder with a dynamic frame axis), with the checkpoint's weights frozen in;
    tf2onnx converts it. Needs the ``[spleeter]`` extra. Returns ``out_dir``.
    """
    tf = require("tensorflow", "spleeter")
    require("spleeter", "spleeter")
    tf2onnx = require("tf2onnx", "spleeter")
    from spleeter.model import EstimatorSpecBuilder

    model_dir, out = Path(model_dir), Path(out_dir)
    checkpoint_files(model_dir)
    params = spleeter_config(model_dir, stems)
    out.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        spec = tf.compat.v1.placeholder(
            tf.float32, shape=(None, None, params["F"], params["n_channels"]), name="mix_spectrogram"
        )
        builder = EstimatorSpecBuilder({f"{params['mix_name']}_spectrogram": spec}, params)
        outputs = builder.model_outputs
        names = {s: outputs[f"{s}_spectrogram"].name for s in params["instrument_list"]}
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            saver.restore(session, tf.train.latest_checkpoint(str(model_dir)))
            frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
                session, graph.as_graph_def(), [v.split(":")[0] for v in names.values()]
            )
    model_proto, _ = tf2onnx.convert.from_graph_def(
        frozen,
        input_names=[spec.name],
        output_names=list(names.values()),
        opset=opset,
        output_path=str(out / "model.onnx"),
    )
    onnx_outputs = [o.name for o in model_proto.graph.output]
    tf_names = list(names.values())
    meta = {
        "format": "rtaudio spleeter export 1",
        "source": str(model_dir.resolve()),
        "stems": list(params["instrument_list"]),
        "outputs": {s: onnx_outputs[tf_names.index(n)] for s, n in names.items()},
        "test_model": is_test_model(model_dir),
        "params": {
            k: params[k]
            for k in (
                "instrument_list",
                "sample_rate",
                "frame_length",
                "frame_step",
                "T",
                "F",
                "n_channels",
                "separation_exponent",
                "mask_extension",
            )
        },
        "opset": opset,
        "tensorflow": tf.__version__,
        "tf2onnx": tf2onnx.__version__,
    }
    (out / ONNX_META).write_text(json.dumps(meta, indent=2) + "\n")
    if is_test_model(model_dir):
        (out / TEST_MARKER).write_text((model_dir / TEST_MARKER).read_text())
    return out
