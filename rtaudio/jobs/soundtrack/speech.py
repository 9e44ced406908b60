"""Where the dialogue speaks and where it pauses, for snapping cuts.

Two detectors; the better one that can run here is used and named in the report:

* ``vad``: rtaudio's ``vad`` stage (webrtcvad gate + Silero verifier), run over
  the whole dialogue stem at 16 kHz; it ignores music and noise, so a music bed
  under the dialogue does not hide the pauses.  Its reported intervals are the
  tight ones (``SpeechSegment``: pauses between words of 150 ms or more show as
  gaps of 60 ms or more, at 32 ms resolution); where it runs its speech is
  intersected with the energy detector's, so a pause is where either finds no
  speech and its edges are sharper than a 32 ms chunk;
* ``energy``: frame RMS (11.6 ms hop) against an adaptive threshold, ``floor +
  0.3 * (loud - floor)`` dB where ``floor``/``loud`` are the 5th/95th percentiles,
  at least 6 dB over the floor; speech bursts shorter than 50 ms are dropped and
  every burst is padded by 20 ms.  It takes any sound for speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtaudio.jobs.soundtrack.features import ANALYSIS_RATE, HOP, Features


@dataclass
class Speech:
    """Speech intervals of a signal.

    Attributes
    ----------
    segments : ndarray (k, 2) float64, seconds
        Speech intervals, sorted, disjoint.
    duration : float, seconds
        Length of the signal.
    method : str
        ``vad+energy`` or ``energy`` (see the module docstring).
    note : str
        Why the preferred detector was not used (empty when it was).
    words : ndarray (k, 2) float64 or None, seconds
        Word intervals from the STT stage (:func:`detect_words`), when asked for.
    words_engine : str
        The STT engine that gave ``words`` (``whisper``, ``vosk``, ``pocketsphinx``; empty without words).
    word_texts : tuple of str or None
        What each of ``words`` says, where known (for review reasons).
    """

    segments: np.ndarray
    duration: float
    method: str
    note: str = ""
    words: np.ndarray | None = None
    words_engine: str = ""
    word_texts: tuple[str, ...] | None = None

    def pauses(self, min_pause: float) -> np.ndarray:
        """Non-speech intervals (s) at least ``min_pause`` long, (k, 2); before the first and after the last too."""
        edges = np.concatenate([[0.0], self.segments.ravel(), [self.duration]]).reshape(-1, 2)
        long = (edges[:, 1] - edges[:, 0]) >= min_pause
        return edges[long]

    def word_gaps(self) -> np.ndarray:
        """The boundaries between consecutive words (s), (k, 2): where one word ends and the next starts
        (zero-length where they touch); empty without words."""
        if self.words is None or len(self.words) < 2:
            return np.zeros((0, 2))
        w = self.words
        gaps = np.stack([w[:-1, 1], np.maximum(w[:-1, 1], w[1:, 0])], axis=1)
        return gaps

    def in_word(self, t: float, slack: float = 0.0) -> bool:
        """True if ``t`` (s) falls inside a word by more than ``slack`` seconds (False without words)."""
        if self.words is None or not len(self.words):
            return False
        w = self.words
        return bool(np.any((w[:, 0] + slack < t) & (t < w[:, 1] - slack)))

    def speaking(self, t0: float, t1: float) -> bool:
        """True if any speech overlaps ``[t0, t1]`` (s)."""
        if len(self.segments) == 0 or t1 < t0:
            return False
        s = self.segments
        return bool(np.any((s[:, 0] < t1) & (s[:, 1] > t0)))

    def as_arrays(self, prefix: str) -> dict:
        return {
            f"{prefix}segments": self.segments.reshape(-1, 2),
            f"{prefix}words": np.zeros((0, 2)) if self.words is None else self.words,
            f"{prefix}has_words": np.array([self.words is not None]),
            f"{prefix}meta": np.array([self.duration]),
            f"{prefix}method": np.array(self.method),
            f"{prefix}note": np.array(self.note),
            f"{prefix}words_engine": np.array(self.words_engine),
        }

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> Speech:
        words = (
            np.asarray(arrays[f"{prefix}words"]).reshape(-1, 2)
            if arrays.get(f"{prefix}has_words", [False])[0]
            else None
        )
        return cls(
            np.asarray(arrays[f"{prefix}segments"]).reshape(-1, 2),
            float(arrays[f"{prefix}meta"][0]),
            str(arrays[f"{prefix}method"]),
            str(arrays[f"{prefix}note"]),
            words,
            str(arrays[f"{prefix}words_engine"]) if f"{prefix}words_engine" in arrays else "",
        )


def detect(x: np.ndarray, rate: int, features: Features | None = None, *, prefer: str = "vad") -> Speech:
    """Speech intervals of ``x`` ((n,) or (n, ch) at ``rate`` Hz); ``prefer="energy"`` skips the VAD."""
    duration = len(x) / rate
    note, vad = "", None
    if prefer == "vad":
        try:
            vad = _vad_segments(x, rate)
        except Exception as exc:  # missing extra, missing model, or the stage not there yet
            vad = None
            note = f"the vad stage could not run ({type(exc).__name__}: {exc}); used the energy detector"
    if features is None:
        from rtaudio.jobs.soundtrack.features import compute

        features = compute(x, rate)
    energy = energy_segments(features.rms_db)
    if vad is not None:
        return Speech(intersect(vad, energy), duration, "vad+energy")
    return Speech(energy, duration, "energy", note)


def _vad_segments(x: np.ndarray, rate: int) -> np.ndarray:
    from rtaudio.events import SpeechSegment
    from rtaudio.jobs.soundtrack.signal import DiskSignal, mono_at, mono_chunks
    from rtaudio.pipeline import Pipeline, run_array, run_blocks
    from rtaudio.stages.vad import VAD_RATE, VADParams, VADStage

    block = 10 * VAD_RATE
    pipeline = Pipeline([VADStage(VADParams(), sample_rate=VAD_RATE)], VAD_RATE, 1, quantum=block)
    if isinstance(x, DiskSignal):  # streamed: the same blocks, never the whole 16 kHz signal
        chunks = mono_chunks(x, rate, VAD_RATE, block)
        events = run_blocks(pipeline, (np.ascontiguousarray(c, dtype=np.float32)[:, None] for c in chunks))
    else:
        events = run_array(pipeline, mono_at(x, rate, VAD_RATE)[:, None], block)
    segs = [(e.start / VAD_RATE, e.end / VAD_RATE) for e in events if isinstance(e, SpeechSegment)]
    return np.array(sorted(segs), dtype=np.float64).reshape(-1, 2)


def energy_segments(rms_db: np.ndarray, *, min_burst_s: float = 0.05, pad_s: float = 0.02) -> np.ndarray:
    """Speech (sound) intervals (s) from frame RMS (dBFS, one value per HOP at ANALYSIS_RATE)."""
    if len(rms_db) == 0:
        return np.zeros((0, 2))
    level = np.maximum(rms_db.astype(np.float64), -100.0)
    floor, loud = np.percentile(level, 5), np.percentile(level, 95)
    threshold = floor + max(6.0, 0.3 * (loud - floor))
    if loud - floor < 6.0:  # flat signal: all silence or all sound
        active = np.full(len(level), loud > -60.0)
    else:
        active = level > threshold
    dt = HOP / ANALYSIS_RATE
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2) * dt - dt / 2
    runs = runs[(runs[:, 1] - runs[:, 0]) >= min_burst_s]
    if len(runs) == 0:
        return np.zeros((0, 2))
    runs[:, 0] = np.maximum(0.0, runs[:, 0] - pad_s)
    runs[:, 1] += pad_s
    merged = [list(runs[0])]
    for a, b in runs[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged)


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection of two sorted, disjoint interval lists (k, 2)."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        if hi > lo:
            out.append((lo, hi))
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return np.array(out, dtype=np.float64).reshape(-1, 2)


#: How much quieter (dB) than at the recogniser's boundary the dip must be for :func:`refine_words` to move it.
DIP_DB = 3.0
#: How far (s) :func:`refine_words` may move a boundary between two touching words.
REFINE_REACH_S = 0.06


def refine_words(words: np.ndarray, rms_db: np.ndarray, reach: float = REFINE_REACH_S) -> np.ndarray:
    """Word intervals (k, 2) s with each boundary between two words less than 2 x ``reach`` apart
    moved to the quietest frame of the dialogue (``rms_db``, one value per HOP at ANALYSIS_RATE)
    within ``reach`` s of it, when that frame is at least ``DIP_DB`` quieter than the boundary:
    where the voice actually dips between them.

    Whisper's word times come from its attention, good to about a frame of 20 ms at best and
    often 50-200 ms off; the dip between two words is where a cut is least likely to take
    a piece of either.  Words never shrink below 20 ms.
    """
    w = np.array(words, dtype=np.float64).reshape(-1, 2)
    if len(w) < 2 or len(rms_db) == 0:
        return w
    dt = HOP / ANALYSIS_RATE
    for i in range(len(w) - 1):
        g0, g1 = w[i, 1], w[i + 1, 0]
        if g1 - g0 >= 2 * reach:
            continue
        lo = max(g0 - reach, w[i, 0] + 0.02)
        hi = min(g1 + reach, w[i + 1, 1] - 0.02)
        f0, f1 = int(np.ceil(lo / dt)), int(np.floor(hi / dt))
        f1 = min(f1, len(rms_db) - 1)
        if f1 < f0:
            continue
        k = f0 + int(np.argmin(rms_db[f0 : f1 + 1]))
        here = rms_db[min(len(rms_db) - 1, int(round(g0 / dt))) : min(len(rms_db), int(round(g1 / dt)) + 1)]
        if len(here) and rms_db[k] > np.min(here) - DIP_DB:
            continue  # no clear dip nearby: the recogniser's boundary stays
        t = k * dt
        if not g0 <= t <= g1:  # the dip is inside one of the words: the boundary moves there
            w[i, 1] = w[i + 1, 0] = t
    return w


def words_engine(language: str = "en") -> str:
    """The STT engine :func:`detect_words` runs for ``language``: ``whisper`` where its model is found
    (``engine="auto"`` of the ``stt`` stage), else ``vosk`` or ``pocketsphinx``."""
    from rtaudio.stages.stt import STTParams, choose_backend

    return choose_backend(STTParams(language=language, partials=False))[0]


def detect_words(x: np.ndarray, rate: int, language: str = "en", *, with_engine: bool = False):
    """Word intervals (s), (k, 2), of :func:`detect_word_list`; with ``with_engine`` ``(words, engine)``."""
    words, _, engine = detect_word_list(x, rate, language)
    return (words, engine) if with_engine else words


def detect_word_list(x: np.ndarray, rate: int, language: str = "en") -> tuple[np.ndarray, tuple[str, ...], str]:
    """(word intervals (k, 2) s, what each word says, engine) from rtaudio's ``vad`` and ``stt`` stages
    run over ``x``.

    The ``stt`` stage's ``engine="auto"`` picks Whisper (word timestamps, one decode per
    speech run) where its model is found, else vosk / pocketsphinx; the engine is the one
    named by the transcripts (:func:`words_engine` when there were none).

    Raises whatever the stages raise when they cannot run (missing extra or model):
    the caller decides whether that is an error.
    """
    from rtaudio.api import analyze
    from rtaudio.jobs.soundtrack.signal import stage_input

    events = analyze(
        stage_input(x, rate),
        rate=rate,
        stages=["vad", "stt"],
        config={"stt": {"language": language, "partials": False}},
    )
    words, engines = [], set()
    for e in events:
        if e.TYPE == "transcript":
            words += [(w.start / rate, w.end / rate, w.word) for w in e.words]
            engines.add(e.engine)
    words.sort(key=lambda w: (w[0], w[1]))
    out = np.array([w[:2] for w in words], dtype=np.float64).reshape(-1, 2)
    engines.discard("")
    return out, tuple(w[2] for w in words), ("+".join(sorted(engines)) if engines else words_engine(language))


#: How far apart (s) two hearings may put the boundary between two words and still agree on it:
#: each switch point then keeps :data:`AGREE_SLACK_S` inside both hearings' gaps.
AGREE_SLACK_S = 0.02


def outside(intervals: np.ndarray, words: np.ndarray, slack: float = 0.0) -> np.ndarray:
    """``intervals`` (k, 2) s minus the inside of each word (m, 2) s shrunk by ``slack`` at both ends."""
    out = []
    for a, b in intervals:
        pieces = [(float(a), float(b))]
        for w0, w1 in words[(words[:, 1] - slack > a) & (words[:, 0] + slack < b)]:
            cut = []
            for x0, x1 in pieces:
                if w0 + slack > x0:
                    cut.append((x0, min(x1, w0 + slack)))
                if w1 - slack < x1:
                    cut.append((max(x0, w1 - slack), x1))
            pieces = [(x0, x1) for x0, x1 in cut if x1 > x0]
        out += pieces
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def agreed_words(
    words: np.ndarray,
    other: np.ndarray,
    texts: tuple[str, ...] | None = None,
    other_texts: tuple[str, ...] | None = None,
    slack: float = AGREE_SLACK_S,
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Word intervals (k, 2) s where two hearings of the same speech (``words``, ``other``) agree on
    every place between words, and what each says.

    A point counts as between words only where neither hearing puts it more than ``slack`` s
    inside a word.  Each boundary or gap of ``words`` keeps the part of ``[end - slack, start +
    slack]`` outside ``other``'s words (shrunk by ``slack``):

    * nothing left: the hearings disagree on where one word ends and the next starts, and the two
      words become one (no place to cut);
    * a stretch shorter than ``2 * slack``: the words touch at its centre (the mean of the two
      hearings' boundaries where both make the words touch);
    * a longer stretch: a gap, its edges ``slack`` inside it; a word of ``other`` inside the gap that
      ``words`` missed splits it and becomes a word too.

    Whisper's word edges fall on a 20 ms grid whose phase depends on where its decode starts, and move
    by 20-230 ms between two hearings of the same speech (docs/soundtrack.md): a boundary both hearings
    place within ``2 * slack`` of each other is the one a third hearing most likely shares.
    """
    w = np.asarray(words, dtype=np.float64).reshape(-1, 2)
    o = np.asarray(other, dtype=np.float64).reshape(-1, 2)
    texts = tuple(texts) if texts is not None and len(texts) == len(w) else None
    other_texts = tuple(other_texts) if other_texts is not None and len(other_texts) == len(o) else None
    if len(w) == 0:
        return o.copy(), other_texts if texts is not None or len(o) == 0 else None

    out = [[w[0, 0], w[0, 1]]]
    said = [[texts[0]] if texts else []]
    for i in range(len(w) - 1):
        g0, g1 = w[i, 1], max(w[i, 1], w[i + 1, 0])
        free = outside(np.array([[g0 - slack, g1 + slack]]), o, slack)
        if not len(free):  # no place both hearings leave between the two words: they count as one
            out[-1][1] = w[i + 1, 1]
            if texts:
                said[-1].append(texts[i + 1])
            continue
        # each free stretch: where the word before it ends and the word after it starts
        edges = [((f0 + f1) / 2,) * 2 if f1 - f0 < 2 * slack else (f0 + slack, f1 - slack) for f0, f1 in free]
        out[-1][1] = edges[0][0]
        for k in range(len(free) - 1):  # a word of the other hearing between two free stretches
            out.append([edges[k][1], edges[k + 1][0]])
            inner = (o[:, 1] > free[k][1]) & (o[:, 0] < free[k + 1][0])
            said.append([t for t, m in zip(other_texts or (), inner, strict=False) if m])
        out.append([edges[-1][1], w[i + 1, 1]])
        said.append([texts[i + 1]] if texts else [])
    arr = np.array(out, dtype=np.float64).reshape(-1, 2)
    arr[:, 1] = np.maximum(arr[:, 1], arr[:, 0])
    return arr, (tuple(" ".join(s) for s in said) if texts else None)


#: How much later (s) :func:`second_hearing` plays the speech to the recogniser: half of Whisper's 20 ms
#: word-time step, so its word edges fall on another grid.
SECOND_HEARING_SHIFT_S = 0.01


def second_hearing(
    x: np.ndarray, rate: int, language: str = "en", shift_s: float = SECOND_HEARING_SHIFT_S
) -> tuple[np.ndarray, tuple[str, ...], str]:
    """:func:`detect_word_list` of ``x`` played ``shift_s`` seconds later, its times moved back.

    The speech detector's runs and Whisper's 20 ms grid of word times start elsewhere, so the
    recogniser hears each run anew; where it puts word boundaries differently from the first
    hearing, neither is to be trusted (:func:`agreed_words`)."""
    from rtaudio.jobs.soundtrack.signal import DiskSignal, mono_chunks

    low = 16000  # the stages' rate: the copy is small even for a long DiskSignal
    if isinstance(x, DiskSignal):
        y = np.concatenate(list(mono_chunks(x, rate, low)) or [np.zeros(0, np.float32)])
    else:
        import soxr

        y = np.asarray(x, dtype=np.float32)
        y = y.mean(axis=1) if y.ndim == 2 else y
        y = soxr.resample(y, rate, low).astype(np.float32) if rate != low else y
    pad = np.zeros(int(round(shift_s * low)), dtype=np.float32)
    words, texts, engine = detect_word_list(np.concatenate([pad, y]), low, language)
    return np.maximum(words - len(pad) / low, 0.0), texts, engine
