"""Whisper transcripts for the stt stage: one decode per speech run, stable live captions.

:class:`WhisperRecognizer` has the interface of the stt stage's other recognisers (``begin``, ``feed``,
``partial``, ``end``, ``idle``, ``words``). Each run (a speech segment with its margins) is decoded
once, whole, when it ends (never Whisper's long-form decoding, which drops words across unrelated
utterances); a run longer than ``max_run_s`` is cut into pieces of that length. Word times come from
Whisper's word timestamps, counted in the audio fed, so the stage maps them onto the source clock.

Live captions: while a run is open, its audio so far is decoded every ``partial_s`` seconds (greedy,
no word times); a word is shown once two consecutive decodes agree on it and on every word before it,
and shown words are never taken back (a later disagreement only stops the caption growing until the
final). Decodes run in :func:`rtaudio.worker.make_worker`'s worker: in this thread, in stream order,
or in a child process, asynchronously (one decode in flight; a partial is dropped when a newer one or
the run's final is waiting), so the engine's reader thread never waits for Whisper.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from rtaudio.worker import make_worker

RATE = 16000


#: Mel frames per second of Whisper's features (10 ms hop).
FRAMES_PER_S = 100
#: Whisper's encoder window: 30 s, 3000 mel frames.
MAX_FRAMES = 3000
#: Default shortest encoder window, seconds (see :func:`window_frames`).
WINDOW_S = 20.0


def window_frames(n_frames: int, window_s: float, margin_s: float = 1.0) -> int:
    """Mel frames the encoder sees for ``n_frames`` of audio: the audio plus ``margin_s`` of padding,
    at least ``window_s`` worth, at most 30 s, rounded up to a whole second.

    Parameters
    ----------
    n_frames : int >= 0
        Mel frames of the audio (100 per second).
    window_s : float in [0, 30], seconds
        Shortest encoder window; 30: always the full window (Whisper's training, faster-whisper's way).
    margin_s : float >= 0, seconds
        Padding kept after the audio (Whisper learned to see the end of speech followed by padding).
    """
    want = max(n_frames + margin_s * FRAMES_PER_S, window_s * FRAMES_PER_S)
    return int(min(MAX_FRAMES, -(-want // FRAMES_PER_S) * FRAMES_PER_S))


class WhisperDecoder:
    """faster-whisper decoding of one stretch of 16 kHz audio (the object the worker holds).

    One encoder pass per call, shared by the language detection (``language=None``) and the decode;
    the encoder sees the audio padded to :func:`window_frames` (``window_s``), not always 30 s. A
    short-window decode that looks broken (:func:`_broken`: a repetition loop, a sampling fallback)
    is redone on the full 30 s window.

    Parameters
    ----------
    path : path-like
        A faster-whisper model folder.
    cpu_threads : int >= 0
        CTranslate2 threads; 0: its default.
    """

    def __init__(self, path, cpu_threads: int = 0):
        from rtaudio.models.whisper import load

        self.model = load(Path(path), cpu_threads=cpu_threads)
        self._options: dict = {}
        self.full_redecodes = 0  # short-window decodes redone on the full window (:func:`_broken`)

    def _transcription_options(self, beam_size: int, words: bool):
        """faster-whisper's options for :meth:`decode` (built once by a ``transcribe`` call that decodes nothing)."""
        key = (beam_size, words)
        if key not in self._options:
            _, info = self.model.transcribe(
                np.zeros(RATE // 10, np.float32),
                language="en",
                beam_size=beam_size,
                word_timestamps=words,
                condition_on_previous_text=False,
                vad_filter=False,
                without_timestamps=not words,
            )  # the segments generator is never iterated: no decode
            self._options[key] = info.transcription_options
        return self._options[key]

    def decode(
        self, pcm16: np.ndarray, language: str | None, words: bool, beam_size: int, window_s: float = 30.0
    ) -> dict:
        """``{"text", "language", "words": [[start s, end s, word, probability], ...]}`` for ``pcm16``
        (int16, at most 30 s); ``language`` None: Whisper detects it (on the same encoder pass).

        ``window_s`` (seconds, 0-30): shortest encoder window (see :func:`window_frames`)."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        m = self.model
        x = np.asarray(pcm16, dtype=np.float32) / 32768.0
        features = m.feature_extractor(x)
        n = features.shape[-1] - 1
        frames = window_frames(n, window_s)
        encoder_output = m.encode(pad_or_trim(features, frames))
        if language is None:
            language = m.model.detect_language(encoder_output)[0][0][0][2:-2]
        tokenizer = Tokenizer(m.hf_tokenizer, m.model.is_multilingual, task="transcribe", language=language)
        options = self._transcription_options(beam_size, words)
        if frames < MAX_FRAMES:  # one greedy-or-beam pass, no sampling fallback (:func:`one_pass`)
            segments = one_pass(m, tokenizer, replace(options, temperatures=[0.0]), encoder_output, n)
        else:
            segments = list(m.generate_segments(features, tokenizer, options, False, encoder_output))
        if frames < MAX_FRAMES and (segments is None or _broken(segments, n / FRAMES_PER_S, options)):
            # a short window misled it (or heard no speech in a run the VAD passed): the full window
            self.full_redecodes += 1
            encoder_output = m.encode(pad_or_trim(features, MAX_FRAMES))
            segments = list(m.generate_segments(features, tokenizer, options, False, encoder_output))
        out_words, texts = [], []
        for seg in segments:
            texts.append(seg.text.strip())
            for w in seg.words or ():
                out_words.append([float(w.start), float(w.end), w.word.strip(), float(w.probability)])
        return {"text": " ".join(t for t in texts if t), "language": language, "words": out_words}


def one_pass(m, tokenizer, options, encoder_output, n_frames: int) -> list | None:
    """faster-whisper's segments for one encoder window holding all ``n_frames`` mel frames of the audio,
    decoded once (``generate_segments`` without its seek loop).

    ``generate_segments`` decodes again from the last word whenever a decode ends in a timestamp pair,
    each time with a new full 30 s encoder pass; on a short window that tail (the run's trailing
    margin) is near-silence, which Whisper fills with sampled fallbacks. Here text after the last
    timestamp pair is kept as a last segment up to the end of the audio instead. None where
    ``generate_segments`` would skip the window as silence (no-speech probability above
    ``no_speech_threshold`` and mean log-probability below ``log_prob_threshold``).
    """
    from faster_whisper.transcribe import Segment, Word

    prompt = m.get_prompt(tokenizer, [], without_timestamps=options.without_timestamps)
    result, avg_logprob, temperature, compression_ratio = m.generate_with_fallback(
        encoder_output, prompt, tokenizer, options
    )
    if (
        options.no_speech_threshold is not None
        and result.no_speech_prob > options.no_speech_threshold
        and not (options.log_prob_threshold is not None and avg_logprob > options.log_prob_threshold)
    ):
        return None
    tokens = result.sequences_ids[0]
    duration = n_frames / FRAMES_PER_S
    segs, _, _ = m._split_segments_by_timestamps(
        tokenizer=tokenizer, tokens=tokens, time_offset=0.0, segment_size=n_frames, segment_duration=duration, seek=0
    )
    used = sum(len(s["tokens"]) for s in segs)
    rest = [t for t in tokens[used:] if t < tokenizer.eot]
    if rest:  # text after the last timestamp pair: it runs to the end of the audio
        start = segs[-1]["end"] if segs else 0.0
        segs.append({"seek": 0, "start": start, "end": duration, "tokens": tokens[used:]})
    if options.word_timestamps and segs:
        m.add_word_timestamps(
            [segs], tokenizer, encoder_output, n_frames, options.prepend_punctuations, options.append_punctuations, 0.0
        )
    out = []
    for s in segs:
        text = tokenizer.decode(s["tokens"])
        if s["start"] == s["end"] or not text.strip():
            continue
        out.append(
            Segment(
                id=len(out) + 1,
                seek=0,
                start=s["start"],
                end=s["end"],
                text=text,
                tokens=s["tokens"],
                temperature=temperature,
                avg_logprob=avg_logprob,
                compression_ratio=compression_ratio,
                no_speech_prob=result.no_speech_prob,
                words=[Word(**w) for w in s["words"]] if options.word_timestamps else None,
            )
        )
    return out


def _broken(segments: list, duration_s: float, options=None) -> bool:
    """True when a decode looks like a failure: faster-whisper fell back to sampling (temperature > 0),
    or would have (``options``' thresholds: a repetition loop, compression ratio above
    ``compression_ratio_threshold``, or a mean log-probability below ``log_prob_threshold``), or more
    than 6 words per second of audio."""
    n_words = sum(len(seg.text.split()) for seg in segments)
    if options is not None:
        ratio, logprob = options.compression_ratio_threshold, options.log_prob_threshold
        for seg in segments:
            if (ratio is not None and seg.compression_ratio > ratio) or (
                logprob is not None and seg.avg_logprob < logprob
            ):
                return True
    return any(seg.temperature > 0 for seg in segments) or n_words > 6 * duration_s + 3


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def stable_prefix(shown: list[str], previous: list[str] | None, current: list[str]) -> list[str]:
    """The caption after a new decode: ``shown`` extended by the words ``previous`` and ``current`` agree on.

    Words are compared without case and punctuation; shown words are never removed or changed.
    """
    if previous is None:
        return shown
    n = 0
    while n < min(len(previous), len(current)) and _key(previous[n]) == _key(current[n]):
        n += 1
    agreed = current[:n]
    if len(agreed) <= len(shown) or [_key(w) for w in agreed[: len(shown)]] != [_key(w) for w in shown]:
        return shown
    return shown + agreed[len(shown) :]


class WhisperRecognizer:
    """Whisper behind the stt stage's recogniser interface (see the module docstring).

    Parameters
    ----------
    path : Path
        A faster-whisper model folder.
    rate : int
        Must be 16000 (Whisper's rate).
    partials : bool
        Decode open runs for live captions.
    language : str or None
        ISO 639-1 code to transcribe in; None: Whisper detects it per run (see :meth:`set_language`).
    worker : {"thread", "process"}
        Where decodes run.
    partial_s : float > 0, seconds
        Audio between two live decodes of an open run.
    beam_size : int >= 1
        Beam of the final decodes (partials are greedy).
    max_run_s : float in (1, 30], seconds
        Longest piece decoded at once.
    window_s : float in [0, 30], seconds
        Shortest encoder window (:func:`window_frames`): a run is padded to its length plus 1 s, at
        least this; 30: every decode pays a full 30 s encoder pass, as faster-whisper's ``transcribe``;
        shorter: one pass (:func:`one_pass`), redone on the full window when it looks broken.
    """

    name = "whisper"

    def __init__(
        self,
        path: Path,
        rate: int,
        partials: bool = True,
        language: str | None = None,
        worker: str = "thread",
        partial_s: float = 1.0,
        beam_size: int = 5,
        max_run_s: float = 28.0,
        window_s: float = WINDOW_S,
    ):
        if rate != RATE:
            raise ValueError(f"rate={rate} must be {RATE} Hz for Whisper")
        self.rate, self.live, self.language = rate, partials, language
        self.partial_s, self.beam_size, self.window_s = partial_s, beam_size, window_s
        self._max = int(max_run_s * RATE)
        self.worker = make_worker(worker, WhisperDecoder, str(path))
        self._queue: list[tuple] = []  # unsent jobs: (kind, run, base sample, pcm, language)
        self._inflight: list[tuple] = []  # sent jobs: (kind, run, base sample)
        self._finished: list[dict] = []  # final results not handed over yet
        self._run_id = 0
        self._pcm: list[np.ndarray] = []
        self._n = 0
        self._base = 0
        self._open = False
        self._shown: list[str] = []
        self._previous: list[str] | None = None
        self._last_partial_at = 0
        self.decodes = {"final": 0, "partial": 0}

    def reset(self, language: str | None) -> None:
        """Forget every run and pending decode (answers still on their way are awaited and dropped)."""
        if self._inflight:
            self.worker.results(wait=True)
        self._queue, self._inflight, self._finished = [], [], []
        self._pcm, self._n, self._base, self._open = [], 0, 0, False
        self._shown, self._previous, self._last_partial_at = [], None, 0
        self.language = language

    def set_language(self, language: str | None) -> None:
        """Transcribe the next runs in ``language`` (None: Whisper detects it)."""
        self.language = language

    # -- the recogniser interface -------------------------------------------------------------------
    def begin(self, fed: int, gap_s: float | None) -> list[dict]:
        self._run_id += 1
        self._pcm, self._n, self._base, self._open = [], 0, fed, True
        self._shown, self._previous, self._last_partial_at = [], None, 0
        return self._collect()

    def feed(self, pcm16: bytes) -> list[dict]:
        x = np.frombuffer(pcm16, dtype="<i2")
        self._pcm.append(x)
        self._n += len(x)
        if self._n >= self._max:  # a piece as long as Whisper takes: decode it, go on with a new one
            self._final()
            self._base += self._n
            self._pcm, self._n = [], 0
            self._shown, self._previous, self._last_partial_at = [], None, 0
        elif self.live and self._n - self._last_partial_at >= self.partial_s * RATE and self._n >= RATE:
            self._last_partial_at = self._n
            self._enqueue("partial", self.language, self._audio())
        return self._collect()

    def partial(self) -> str:
        return " ".join(self._shown) if self._open else ""

    def end(self, last: bool) -> list[dict]:
        self._final()
        self._open = False
        self._pcm, self._n = [], 0
        return self._collect(wait=last)

    def idle(self, silence_s: float) -> list[dict]:
        return self._collect(wait=silence_s == float("inf"))

    @staticmethod
    def words(result: dict) -> list[tuple[float, float, str, float]]:
        return [(w["start"], w["end"], w["word"], float(w.get("conf", 1.0))) for w in result.get("result", [])]

    # -- jobs ----------------------------------------------------------------------------------------
    def _audio(self) -> np.ndarray:
        return np.concatenate(self._pcm) if self._pcm else np.zeros(0, np.int16)

    def _final(self) -> None:
        if self._n >= RATE // 10:
            self._queue = [j for j in self._queue if not (j[0] == "partial" and j[1] == self._run_id)]
            self._enqueue("final", self.language, self._audio())

    def _enqueue(self, kind: str, language: str | None, pcm: np.ndarray) -> None:
        job = (kind, self._run_id, self._base, pcm, language)
        if kind == "partial":  # only the newest partial is worth decoding
            self._queue = [j for j in self._queue if j[0] != "partial"]
        self._queue.append(job)

    def _pump(self) -> None:
        if self._queue and not self.worker.busy:
            kind, run, base, pcm, language = self._queue.pop(0)
            self._inflight.append((kind, run, base))
            self.decodes[kind] += 1
            final = kind == "final"
            self.worker.submit("decode", pcm, language, final, self.beam_size if final else 1, self.window_s)

    def _collect(self, wait: bool = False) -> list[dict]:
        while True:
            self._pump()
            got = self.worker.results(wait=wait)
            for answer in got:
                kind, run, base = self._inflight.pop(0)
                if kind == "final":
                    t0 = base / RATE
                    self._finished.append(
                        {
                            "text": answer["text"],
                            "language": answer["language"],
                            "result": [
                                {"start": t0 + s, "end": t0 + e, "word": w, "conf": p} for s, e, w, p in answer["words"]
                            ],
                        }
                    )
                elif run == self._run_id and self._open:
                    current = answer["text"].split()
                    self._shown = stable_prefix(self._shown, self._previous, current)
                    self._previous = current
            if not got:
                break
        out, self._finished = self._finished, []
        return out

    def close(self) -> None:
        self.worker.close()
