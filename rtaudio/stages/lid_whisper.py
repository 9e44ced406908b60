"""Spoken-language ID by Whisper: its language-token posterior on the speech heard so far.

The lid stage hands over the audio its gate (the VAD, or an energy gate) calls speech; here it is
concatenated across segments, and Whisper decides on the latest 30 s of it (its input length) each
time the speech heard (across segments) reaches a checkpoint (:data:`CHECKPOINTS_S`, then every
:data:`EVERY_S`), and at the end of input. The first decision comes at 2 s of speech. Each
decision is one encoder pass over a 30 s window (about 1.4 s of CPU on the 2 shared dev cores), so
they double in spacing. Posteriors of earlier, complete 30 s blocks are averaged in, weighted by their speech. The
model runs through :func:`rtaudio.worker.make_worker`: in the engine's thread (results at once, in stream
order) or in a child process, asynchronously (at most one decision in flight; a checkpoint reached
meanwhile is decided on the newest speech when the worker is free), so the reader thread never waits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.worker import make_worker

RATE = 16000
BLOCK_S = 30.0  # Whisper's input: 30 s of audio
#: Speech heard (s) at which a decision is made while speech accumulates; after the last, every 10 s.
CHECKPOINTS_S = (2.0, 4.0, 8.0, 16.0, 30.0)
EVERY_S = 30.0


def whisper_languages() -> list[str]:
    """The language codes Whisper's multilingual models know (99)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return list(_LANGUAGE_CODES)


class WhisperLangid:
    """Whisper's language posterior on 16 kHz audio (the object the worker holds).

    Parameters
    ----------
    path : path-like
        A faster-whisper model folder (:func:`rtaudio.models.whisper.resolve_whisper`).
    cpu_threads : int >= 0
        CTranslate2 threads; 0: its default.
    """

    def __init__(self, path, cpu_threads: int = 0):
        from rtaudio.models.whisper import load

        self.path = Path(path)
        self.model = load(self.path, cpu_threads=cpu_threads)

    def probs(self, pcm16: np.ndarray) -> dict[str, float]:
        """Probability of each language for the first 30 s of ``pcm16`` (int16, 16 kHz mono)."""
        x = np.asarray(pcm16, dtype=np.float32) / 32768.0
        _, _, all_probs = self.model.detect_language(audio=x[: int(BLOCK_S * RATE)])
        return {lang: float(p) for lang, p in all_probs}


class WhisperTracker:
    """The whisper backend's state inside a lid stage: speech so far, decisions asked and received.

    Parameters
    ----------
    path : Path
        The model folder.
    languages : list of str
        Candidate languages (ISO 639-1); empty: every language Whisper knows.
    threshold : float in [0, 1]
        Below this probability of the best language the decision is ``unknown``.
    max_speech_s : float >= 0, seconds
        Use only the first this much speech (0: all).
    live : bool
        Decide at the checkpoints as speech accumulates; False: only when asked (:meth:`finish`) or when
        ``max_speech_s`` is reached.
    worker : {"thread", "process"}
        Where Whisper runs (see the module docstring).
    """

    def __init__(self, path: Path, languages, threshold: float, max_speech_s: float, live: bool, worker: str):
        known = whisper_languages()
        langs = [l.strip().lower() for l in (languages or ()) if l and l.strip()]
        bad = [l for l in langs if l not in known]
        if bad:
            raise ParameterError(f"languages={','.join(bad)!r}: Whisper knows only {','.join(known)}")
        self.languages = langs or known
        self.threshold, self.cap, self.live = threshold, max_speech_s, live
        self.path = Path(path)
        self.worker = make_worker(worker, WhisperLangid, str(path))
        self.reset()

    def reset(self) -> None:
        if getattr(self, "_inflight", None):
            self.worker.results(wait=True)
        self._block = np.zeros(int(BLOCK_S * RATE), np.int16)  # the current 30 s block of speech
        self._n = 0  # samples in the current block
        self._blocks = 0  # complete blocks before the current one
        self._answers: dict[int, tuple[dict, float]] = {}  # block -> (probs, speech s it covered), newest
        self.speech = 0  # speech samples heard (used)
        self._asked = 0  # speech samples the newest request covered
        self._next_check = 0
        self._t = 0  # stage index of the newest speech sample
        self._queue: list[tuple[int, int, int, np.ndarray]] = []  # requests not sent: (block, speech, t, pcm)
        self._inflight: list[tuple[int, int, int]] = []  # requests sent: (block, speech, t)

    @property
    def speech_s(self) -> float:
        return self.speech / RATE

    @property
    def full(self) -> bool:
        return self.cap > 0 and self.speech >= round(self.cap * RATE)

    def add(self, x: np.ndarray, t_end: int) -> list[dict]:
        """Speech ``x`` (16 kHz float32) ending at stage index ``t_end``; returns new decisions."""
        if self.full or len(x) == 0:
            return self.poll()
        if self.cap > 0:
            x = x[: round(self.cap * RATE) - self.speech]
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
        while len(pcm):
            take = pcm[: len(self._block) - self._n]
            self._block[self._n : self._n + len(take)] = take
            self._n += len(take)
            self.speech += len(take)
            pcm = pcm[len(take) :]
            self._t = t_end - len(pcm)
            if self._n == len(self._block):  # a complete block: decide on it, then start the next
                self._request(force=True)
                self._block, self._n, self._blocks = np.zeros_like(self._block), 0, self._blocks + 1
        if self.full:
            self._request(force=True)
        elif self.live and self.speech >= self._checkpoint():
            self._request()
        return self.poll()

    def _checkpoint(self) -> int:
        """Speech samples at which the next live decision is due."""
        for c in CHECKPOINTS_S:
            if round(c * RATE) > self._next_check:
                return round(c * RATE)
        return self._next_check + round(EVERY_S * RATE)

    def segment_end(self) -> list[dict]:
        """A speech segment ended: decisions that arrived (the checkpoints count speech across segments)."""
        return self.poll()

    def _request(self, force: bool = False) -> None:
        """Ask for a decision on the current block (replacing an unsent request for the same block)."""
        self._next_check = self.speech
        if self._n == 0 or (self.speech == self._asked and not force):
            return
        self._asked = self.speech
        item = (self._blocks, self.speech, self._t, self._block[: self._n].copy())
        if self._queue and self._queue[-1][0] == self._blocks:
            self._queue[-1] = item
        else:
            self._queue.append(item)

    def _pump(self) -> None:
        """Send the oldest unsent request when the worker is free (a large send never waits on a busy child)."""
        if self._queue and not self.worker.busy:
            block, speech, t, pcm = self._queue.pop(0)
            self._inflight.append((block, speech, t))
            self.worker.submit("probs", pcm)

    def poll(self, wait: bool = False) -> list[dict]:
        """Decisions whose answers arrived (with ``wait``: every request's, waiting for them)."""
        out = []
        while True:
            self._pump()
            got = self.worker.results(wait=wait)
            for probs in got:
                block, speech, t = self._inflight.pop(0)
                self._answers[block] = (probs, (speech - block * round(BLOCK_S * RATE)) / RATE)
                d = self.decision()
                d["speech_s"] = round(speech / RATE, 2)
                out.append({"t": t, **d})
            if not got:
                return out

    def finish(self) -> list[dict]:
        """End of input: decide on the speech not decided on yet and wait for every answer."""
        if self.speech > self._asked and (self._n >= RATE // 2 or not self._answers):
            self._request(force=True)
        return self.poll(wait=True)

    def decision(self) -> dict:
        """``{"language", "probability", "top", "speech_s"}`` over every answer so far (as the onnx backend's)."""
        parts = list(self._answers.values())
        if not parts:
            return {"language": "unknown", "probability": 0.0, "top": [], "speech_s": round(self.speech_s, 2)}
        q = np.zeros(len(self.languages))
        for probs, secs in parts:
            p = np.array([probs.get(l, 0.0) for l in self.languages])
            q += secs * p / max(p.sum(), 1e-12)
        q /= q.sum() if q.sum() > 0 else 1.0
        order = np.argsort(-q)[:3]
        top = [[self.languages[i], round(float(q[i]), 4)] for i in order]
        best, prob = top[0]
        return {
            "language": best if prob >= self.threshold else "unknown",
            "probability": prob,
            "top": top,
            "speech_s": round(self.speech_s, 2),
        }

    def close(self) -> None:
        self.worker.close()
