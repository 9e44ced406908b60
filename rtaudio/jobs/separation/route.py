"""Dialogue by routing each segment between plain spleeter and spleeter fine-tuned for dialogue.

The fine-tune (:mod:`rtaudio.models.spleeter_dialogue`) moves singing out of the vocals stem but lets
more played notes and drums into it than plain spleeter does; plain spleeter keeps the singing. So,
per segment (and per channel pair), both U-Nets run on one STFT and their vocals masks are compared:
where the plain vocals hold much more than the fine-tune's, the difference is singing that the
fine-tune moved to the music, and the fine-tune's vocals are used; elsewhere the plain model's.

:func:`singing_db` is that comparison: the energy of the plain vocals over the energy of the
fine-tuned vocals, in dB. The threshold (:data:`THRESHOLD_DB`) was chosen on the tuning set
(``benchmarks/separation_eval.py route --speech tune``: lid_train speech over Debian music, with and
without sung voices), never on the corpus; see docs/separation.md.

The accompaniment is the plain model's total minus the chosen vocals, so the two stems add up to what
plain spleeter gives (the mixture below 11 kHz).

Measured, not used: on the corpus (``separation_eval.py dialogue --route 0.46``) it is below both plain
spleeter and the fine-tune alone (0 dB: +7.66 against +7.82 and +7.72), because a large singing_db also
means the fine-tune dropped *speech* (a played scale, jazz): it routes to the fine-tune exactly where the
fine-tune fails. ``SeparationParams(dialogue=True)`` therefore runs the fine-tune alone.
"""

from __future__ import annotations

import math

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.jobs.separation.onnx import separate_by_masks

#: a segment whose plain vocals hold this many dB more energy than the fine-tuned vocals has singing
THRESHOLD_DB = 0.46
_SHARED = ("sample_rate", "frame_length", "frame_step", "F")


def singing_db(spec: np.ndarray, plain: np.ndarray, tuned: np.ndarray) -> float:
    """10 log10 of the plain vocals' energy over the fine-tuned vocals' energy, dB (0 for silence).

    ``spec``: the complex STFT (frames, bins, channels); ``plain``, ``tuned``: the two models' vocals
    masks of the same shape, in [0, 1].
    """
    if not (spec.shape == plain.shape == tuned.shape):
        raise ParameterError(
            f"spec {spec.shape}, plain mask {plain.shape} and tuned mask {tuned.shape} must have one shape"
        )
    power = np.square(np.abs(spec), dtype=np.float64)
    a = float(np.sum(power * np.square(plain, dtype=np.float64)))
    b = float(np.sum(power * np.square(tuned, dtype=np.float64)))
    floor = 1e-12 * max(float(power.sum()), 1e-12)
    return 10.0 * math.log10((a + floor) / (b + floor))


class RoutedBackend:
    """Two 2-stem onnx backends (plain spleeter, the dialogue fine-tune), the vocals of one chosen per segment.

    Parameters
    ----------
    plain, tuned : OnnxBackend
        2-stem models with the same STFT (rate, frame length and step, bins) and ``frames``.
    threshold_db : float, dB
        A segment uses the fine-tune's vocals when :func:`singing_db` >= this.

    Attributes
    ----------
    decisions : list of (float, bool)
        Per segment and channel pair: (singing dB, fine-tune used).
    """

    name = "onnx"
    overlap_s = 1.0
    level_normalize = True

    def __init__(self, plain, tuned, *, threshold_db: float = THRESHOLD_DB):
        if not (isinstance(threshold_db, (int, float)) and math.isfinite(threshold_db)):
            raise ParameterError(f"threshold_db={threshold_db!r} must be a finite number of dB")
        for label, b in (("plain", plain), ("tuned", tuned)):
            if tuple(b.stems) != ("vocals", "accompaniment"):
                raise ParameterError(f"the {label} model separates {list(b.stems)}; routing needs 2 stems")
        diff = {k: (plain.params[k], tuned.params[k]) for k in _SHARED if plain.params[k] != tuned.params[k]}
        if plain.frames != tuned.frames:
            diff["frames"] = (plain.frames, tuned.frames)
        if diff:
            raise ParameterError(
                f"the plain and tuned models differ in {diff} (plain, tuned); they must share one STFT"
            )
        self.plain, self.tuned = plain, tuned
        self.threshold_db = float(threshold_db)
        self.stems = tuple(plain.stems)
        self.rate = plain.rate
        self.frames = plain.frames
        self.segment_s = plain.segment_s
        self.params = plain.params
        self.decisions: list[tuple[float, bool]] = []
        self.model = {
            "name": f"{tuned.model.get('name')} routed with {plain.model.get('name')}",
            "path": tuned.model.get("path"),
            "plain": plain.model,
            "tuned": tuned.model,
            "threshold_db": self.threshold_db,
            "test_model": bool(plain.model.get("test_model") or tuned.model.get("test_model")),
            "frames": self.frames,
        }

    def vocals_mask(self, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, bool]:
        """(vocals mask, plain total mask, singing dB, fine-tune used) for a stereo STFT ``spec``."""
        plain = self.plain.masks(spec)
        tuned = self.tuned.masks(spec)
        score = singing_db(spec, plain[0], tuned[0])
        use = score >= self.threshold_db
        return (tuned[0] if use else plain[0]), plain[0] + plain[1], score, use

    def separate(self, x: np.ndarray, rate: int) -> np.ndarray:
        """(vocals, accompaniment) of ``x`` ((n, channels) float32 at 44.1 kHz): (2, n, channels) float32."""
        if rate != self.rate:
            raise ParameterError(f"rate={rate}: the routed backend runs at {self.rate} Hz (the Separator resamples)")

        def masks_of(spec):
            vocals, total, score, use = self.vocals_mask(spec)
            self.decisions.append((round(score, 3), use))
            return vocals, total - vocals

        return separate_by_masks(x, self.params, masks_of, 2)

    def close(self) -> None:
        self.plain.close()
        self.tuned.close()
