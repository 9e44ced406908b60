"""Synthetic speech with known pauses, shared by the speech tests (espeak-ng; cached per process)."""

from __future__ import annotations

import functools
import shutil

import numpy as np
import pytest

from rtaudio.testing import speech

#: Sentences for the English test clip: pocketsphinx knows every word.
SENTENCES = ("the child almost hurt the small dog", "open the window please", "seven four two one")


def need_espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng); needed for synthetic speech")


def trim(x: np.ndarray, level: float = 1e-3) -> np.ndarray:
    """``x`` without its leading and trailing near-silence."""
    loud = np.flatnonzero(np.abs(x) > level)
    return x[loud[0] : loud[-1] + 1] if len(loud) else x


@functools.cache
def spoken_with_pauses(
    rate: int = 16000,
    sentences: tuple[str, ...] = SENTENCES,
    voice: str = "en-us",
    lead_s: float = 1.0,
    pause_s: float = 1.5,
    tail_s: float = 1.0,
    level: float = 0.0,
):
    """Sentences separated by silence (or by noise at ``level`` RMS): (samples, [(start, end) s of each sentence]).

    Returns a read-only array; the spans are where each trimmed sentence sits.
    """
    need_espeak()
    parts, spans, t = [np.zeros(int(lead_s * rate), np.float32)], [], lead_s
    for i, text in enumerate(sentences):
        x = trim(speech(text, rate, voice=voice))
        parts.append(x)
        spans.append((t, t + len(x) / rate))
        t += len(x) / rate
        gap = tail_s if i == len(sentences) - 1 else pause_s
        parts.append(np.zeros(int(gap * rate), np.float32))
        t += int(gap * rate) / rate
    out = np.concatenate(parts)
    if level:
        out = out + np.random.default_rng(1).normal(0, level, len(out)).astype(np.float32)
    out.setflags(write=False)
    return out, tuple(spans)
