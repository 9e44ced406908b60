"""Stem separation on buffered segments (see :mod:`.job`); backends in :mod:`.dsp`, :mod:`.onnx`, :mod:`.tf`.

Layout: :mod:`.base` (the leaf: cross-fades, level normalisation, channel pairs) <- the backends
(:mod:`.dsp`, :mod:`.onnx`, :mod:`.tf`) <- :mod:`.job` (parameters, backend choice, the
:class:`Separator`, the file job); :mod:`.dialogue` splits a 2-stem result into dialogue and music
by the speech detector. ``SeparationParams(dialogue=True)`` separates dialogue (speech without the
singing) with spleeter fine-tuned for it (:mod:`rtaudio.models.spleeter_dialogue`, ``models/dialogue``).
Model formats and catalogue entries are in :mod:`rtaudio.models.spleeter`.
"""

from rtaudio.jobs.separation.base import LEVEL_MAX_GAIN, LEVEL_TARGET_RMS, fade, level_gain
from rtaudio.jobs.separation.job import BACKENDS, SeparationParams, Separator, open_backend, separate_file
from rtaudio.models.spleeter import ONNX_META, STEM_NAMES, TEST_MARKER, checkpoint_files, is_test_model

__all__ = [
    "BACKENDS",
    "LEVEL_MAX_GAIN",
    "LEVEL_TARGET_RMS",
    "ONNX_META",
    "STEM_NAMES",
    "TEST_MARKER",
    "SeparationParams",
    "Separator",
    "checkpoint_files",
    "fade",
    "is_test_model",
    "level_gain",
    "open_backend",
    "separate_file",
]
