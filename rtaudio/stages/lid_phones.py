"""Phonotactic features for language ID: a real phone recogniser, then phone n-gram statistics.

The recogniser is pocketsphinx's US-English acoustic model (trained on real speech, shipped in the
``pocketsphinx`` wheel) decoding a free phone loop. It knows only English phones, but every language
comes out as a string of them with its own statistics: which phones, and which follow which
(PRLM, Zissman 1996). Because the acoustic model was trained on real voices, real speech and
synthesized speech come out of it far more alike than their spectra are, which is what lets a
classifier trained mostly on synthesized speech carry over to real speech.

:func:`phone_counts` and :func:`ngram_features` are the feature functions shared by training (``models/langid/train_phonotactic.py``)
and the runtime (:mod:`rtaudio.stages.lid`); tests check that both give the same numbers.
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np

from rtaudio.errors import require

#: The recogniser's phone set (CMU ARPAbet without stress, and ``SIL`` for silence and noise).
PHONES = (
    "SIL",
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
)
N_PHONES = len(PHONES)
_INDEX = {p: i for i, p in enumerate(PHONES)}
#: Sample rate the recogniser takes, Hz.
RATE = 16000
#: Weight of the English phone bigram model against the acoustics (pocketsphinx's default is 6.5): low,
#: so that the phones follow what is said rather than English phonotactics, and short phones survive.
LM_WEIGHT = 2.0
#: Name stored in an ONNX model's metadata (``input``) by models that take these features.
FEATURE_NAME = "phone_ngrams_v2"


@cache
def _model_paths() -> tuple[str, str]:
    pocketsphinx = require("pocketsphinx", "speech")
    root = pocketsphinx.get_model_path()
    return os.path.join(root, "en-us", "en-us"), os.path.join(root, "en-us", "en-us-phone.lm.bin")


class PhoneRecognizer:
    """pocketsphinx's English phone loop; one instance per thread (the decoder is not thread-safe)."""

    def __init__(self):
        from pocketsphinx import Decoder

        hmm, lm = _model_paths()
        self._decoder = Decoder(hmm=hmm, allphone=lm, lw=LM_WEIGHT, loglevel="FATAL")

    def phones(self, x: np.ndarray) -> list[str]:
        """Phones recognised in ``x`` (mono float at 16 kHz, full scale 1.0), in order, ``SIL`` included."""
        pcm = (np.clip(np.nan_to_num(x), -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        return [s.word if s.word in _INDEX else "SIL" for s in d.seg()]


def phone_counts(phones: list[str], order: int = 3) -> np.ndarray:
    """Counts of the phone n-grams up to ``order`` (1-3) in ``phones``, float64, shape ``(n_features(order),)``.

    Layout: unigrams (``N_PHONES``), then bigrams (``N_PHONES**2``), then trigrams, each indexed by
    the phones' positions in :data:`PHONES`. Repeated ``SIL`` collapses to one, so pauses do not
    dominate. Counts of consecutive pieces of speech add up (the n-grams across a join are lost).
    """
    if order not in (1, 2, 3):
        raise ValueError(f"order={order!r}: expected 1, 2 or 3")
    ids: list[int] = []
    for p in phones:
        i = _INDEX.get(p, 0)
        if not (i == 0 and ids and ids[-1] == 0):
            ids.append(i)
    a = np.asarray(ids, dtype=np.int64)
    n = N_PHONES
    out = np.zeros(n_features(order), dtype=np.float64)
    offset = 0
    for k in range(1, order + 1):
        if len(a) >= k:
            index = np.zeros(len(a) - k + 1, dtype=np.int64)
            for j in range(k):
                index = index * n + a[j : len(a) - k + 1 + j]
            out[offset : offset + n**k] = np.bincount(index, minlength=n**k)
        offset += n**k
    return out


def n_features(order: int) -> int:
    """Length of the feature vector for n-grams up to ``order``."""
    return sum(N_PHONES**k for k in range(1, order + 1))


def ngram_features(counts: np.ndarray) -> np.ndarray:
    """Square roots of the relative frequencies of each n-gram order in ``counts`` (from
    :func:`phone_counts`), float32; an order with no n-grams stays all zeros."""
    counts = np.asarray(counts, dtype=np.float64)
    order = {n_features(k): k for k in (1, 2, 3)}.get(counts.shape[-1])
    if order is None:
        raise ValueError(
            f"counts of length {counts.shape[-1]}: expected {n_features(1)}, {n_features(2)} or "
            f"{n_features(3)} (n-grams up to order 1, 2 or 3)"
        )
    out = np.zeros_like(counts)
    offset = 0
    for k in range(1, order + 1):
        part = counts[..., offset : offset + N_PHONES**k]
        total = part.sum(axis=-1, keepdims=True)
        out[..., offset : offset + N_PHONES**k] = np.divide(part, total, out=np.zeros_like(part), where=total > 0)
        offset += N_PHONES**k
    return np.sqrt(out).astype(np.float32)


def phone_ngrams(phones: list[str], order: int = 3) -> np.ndarray:
    """The features of ``phones``: :func:`ngram_features` of :func:`phone_counts`."""
    return ngram_features(phone_counts(phones, order))
