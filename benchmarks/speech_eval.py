"""Measured VAD accuracy on the dev corpus: frame F1 on ``segments/``, false positives on ``classes_1s/``.

Run it as a script (prints the tables of docs/speech.md)::

    .venv/bin/python benchmarks/speech_eval.py vad         # all methods, the 4 annotated files
    .venv/bin/python benchmarks/speech_eval.py intervals   # precision/recall/F1 per dev file (issue 14)

Methods compared in the same run, all scored on 10 ms frames:

- ``webrtcvad raw (mode N)``: webrtcvad's own 10 ms decisions, no smoothing;
- ``silero raw (p>=0.5)``: Silero's probability per 32 ms chunk, thresholded, no smoothing;
- ``rtaudio vad mode=webrtc`` / ``mode=silero`` / ``mode=both``: the stage's reported intervals
  (``SpeechSegment``: tight, inside the padded segments);
- ``rtaudio vad padded segments``: the stage's ``SpeechStart``/``SpeechEnd`` spans (pre-roll,
  hangover, short pauses bridged): what the ``stt`` stage hears, and what was reported before issue 14;
- ``pydub detect_nonsilent``: energy threshold (the original brief's method), with pydub's
  defaults (``min_silence_len=1000``, ``silence_thresh=-16``) and with the usual recipe
  (``min_silence_len=300``, ``silence_thresh=dBFS-16``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rtaudio, not an installed one

FRAME_S = 0.01  # scoring frame (s)


def talking_video_16k(corpus: Path) -> np.ndarray:
    """The audio of ``video/talking-with-pauses.mp4`` as 16 kHz mono float32 (PyAV decode, soxr resample)."""
    import av
    import soxr

    with av.open(str(corpus / "video" / "talking-with-pauses.mp4")) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        parts = [f.to_ndarray() for f in container.decode(stream)]
    x = np.concatenate(parts, axis=1).astype(np.float32).mean(axis=0)
    return soxr.resample(x, rate, 16000, quality="HQ").astype(np.float32)


def corpus_dir() -> Path | None:
    path = Path(os.environ.get("RTAUDIO_CORPUS") or Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus")
    return path.resolve() if path.is_dir() else None


def read_mono(path: Path, rate: int = 16000) -> np.ndarray:
    """The file's samples as mono float32 at ``rate`` Hz (decoded and resampled like the engine does)."""
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1).astype(np.float32)
    return x if sr == rate else soxr.resample(x, sr, rate, quality="HQ").astype(np.float32)


def truth_segments(corpus: Path) -> dict[str, tuple[list[tuple[float, float]], float]]:
    """``{file: (speech intervals (s), scored duration (s))}`` for the annotated files of ``segments/``."""
    import soundfile as sf

    out = {}
    seg = corpus / "segments"
    for name in ("count", "count2", "diarizationExample"):
        spans = []
        for line in (seg / f"{name}.segments").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2] != "silence":
                spans.append((float(parts[0]), float(parts[1])))
        out[f"{name}.wav"] = (spans, sf.info(str(seg / f"{name}.wav")).duration)
    meta = json.loads((seg / "speechbrain-vad-train.json").read_text())
    spans, scored = [], 0.0
    for example in meta.values():
        offset = example["wav"]["start"] / 16000
        values = [float(v) for v in example["speech"].split()]
        spans += [(offset + a, offset + b) for a, b in zip(values[::2], values[1::2], strict=True)]
        scored = max(scored, example["wav"]["stop"] / 16000)
    out["speechbrain-vad-train.wav"] = (spans, scored)  # only the annotated first 4 s are scored
    return out


def frames_of(spans, duration: float) -> np.ndarray:
    """Boolean speech label per 10 ms frame (a frame is speech when its centre lies in a span)."""
    n = round(duration / FRAME_S)
    centres = (np.arange(n) + 0.5) * FRAME_S
    out = np.zeros(n, bool)
    for a, b in spans:
        out |= (centres >= a) & (centres < b)
    return out


def f1(truth: np.ndarray, guess: np.ndarray) -> tuple[float, float, float]:
    tp = int((truth & guess).sum())
    fp = int((~truth & guess).sum())
    fn = int((truth & ~guess).sum())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return score, precision, recall


# -- the methods: each maps (16 kHz mono) -> speech intervals in seconds --------------------------
def stage_spans(x: np.ndarray, **params) -> list[tuple[float, float]]:
    from rtaudio.events import SpeechSegment
    from rtaudio.stages.base import Frame
    from rtaudio.stages.vad import VADParams, VADStage

    stage = VADStage(VADParams(**params))
    events = stage.process(Frame(0, x[:, None], 16000)) + stage.flush()
    return [(e.start / 16000, e.end / 16000) for e in events if isinstance(e, SpeechSegment)]


def padded_spans(x: np.ndarray, **params) -> list[tuple[float, float]]:
    """The stage's padded segments (``SpeechStart`` to ``SpeechEnd``): what the stt stage transcribes."""
    from rtaudio.events import SpeechEnd, SpeechStart
    from rtaudio.stages.base import Frame
    from rtaudio.stages.vad import VADParams, VADStage

    stage = VADStage(VADParams(**params))
    events = stage.process(Frame(0, x[:, None], 16000)) + stage.flush()
    starts = [e.t / 16000 for e in events if isinstance(e, SpeechStart)]
    ends = [e.t / 16000 for e in events if isinstance(e, SpeechEnd)]
    return list(zip(starts, ends, strict=True))


def webrtc_raw_spans(x: np.ndarray, mode: int) -> list[tuple[float, float]]:
    import webrtcvad

    vad = webrtcvad.Vad(mode)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    spans = []
    for i in range(0, len(pcm) - 160 + 1, 160):
        if vad.is_speech(pcm[i : i + 160].tobytes(), 16000):
            spans.append((i / 16000, (i + 160) / 16000))
    return spans


def silero_raw_spans(x: np.ndarray, threshold: float = 0.5) -> list[tuple[float, float]]:
    from rtaudio.stages.vad import (
        CHUNK,
        SILERO_CONTEXT,
        SileroVerifier,
        silero_model_path,
    )

    verifier = SileroVerifier(silero_model_path())
    n = len(x) // CHUNK
    padded = np.concatenate([np.zeros(SILERO_CONTEXT, np.float32), x[: n * CHUNK]])
    windows = (
        np.stack([padded[i * CHUNK : i * CHUNK + SILERO_CONTEXT + CHUNK] for i in range(n)])
        if n
        else np.zeros((0, SILERO_CONTEXT + CHUNK), np.float32)
    )
    probs = verifier(windows) if n else []
    return [(i * CHUNK / 16000, (i + 1) * CHUNK / 16000) for i, p in enumerate(probs) if p >= threshold]


def pydub_spans(x: np.ndarray, min_silence_len: int | None = None, relative_db: float | None = None):
    from pydub import AudioSegment
    from pydub.silence import detect_nonsilent

    audio = AudioSegment(
        (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), sample_width=2, frame_rate=16000, channels=1
    )
    kwargs = {}
    if min_silence_len is not None:
        kwargs["min_silence_len"] = min_silence_len
    if relative_db is not None:
        kwargs["silence_thresh"] = audio.dBFS + relative_db
    return [(a / 1000, b / 1000) for a, b in detect_nonsilent(audio, **kwargs)]


METHODS = {
    "webrtcvad raw, mode 1": lambda x: webrtc_raw_spans(x, 1),
    "webrtcvad raw, mode 3": lambda x: webrtc_raw_spans(x, 3),
    "silero raw (p>=0.5)": silero_raw_spans,
    "pydub detect_nonsilent (defaults)": lambda x: pydub_spans(x),
    "pydub detect_nonsilent (300 ms, dBFS-16)": lambda x: pydub_spans(x, 300, -16.0),
    # Silero with its own post-processing (get_speech_timestamps defaults), run by our hysteresis
    "silero + its get_speech_timestamps defaults": lambda x: padded_spans(
        x, mode="silero", confirm_threshold=0.5, min_speech_s=0.25, min_silence_s=0.1, pre_roll_s=0.03, hangover_s=0.03
    ),
    "rtaudio vad padded segments (what stt hears)": padded_spans,
    "rtaudio vad mode=webrtc (aggr. 3)": lambda x: stage_spans(x, mode="webrtc", aggressiveness=3),
    "rtaudio vad mode=silero": lambda x: stage_spans(x, mode="silero"),
    "rtaudio vad mode=both (default)": lambda x: stage_spans(x),
}


DEV_FILES = ("count.wav", "count2.wav", "speechbrain-vad-train.wav")
INTERVAL_METHODS = {
    k: METHODS[k]
    for k in (
        "webrtcvad raw, mode 3",
        "silero raw (p>=0.5)",
        "rtaudio vad padded segments (what stt hears)",
        "rtaudio vad mode=both (default)",
    )
}


def print_intervals(corpus: Path, methods=INTERVAL_METHODS) -> None:
    """Precision, recall and F1 per dev file and pooled (the three files of issue 14), plus music flagged.

    ``speechbrain-vad-train.wav`` is scored on its annotated first 4 s (its last 1.8 s hold speech
    that no annotation covers).
    """
    truths = truth_segments(corpus)
    audio = {name: read_mono(corpus / "segments" / name) for name in DEV_FILES}
    music = [read_mono(p) for p in sorted((corpus / "classes_1s" / "music").glob("*.wav"))]
    cols = [*DEV_FILES, "pooled"]
    print("| method | " + " | ".join(f"{c} P / R / **F1**" for c in cols) + " | music clips flagged |")
    print("|---" * (len(cols) + 2) + "|")
    for method, fn in methods.items():
        ts, gs, cells = [], [], []
        for name in DEV_FILES:
            spans, duration = truths[name]
            t = frames_of(spans, duration)
            g = frames_of(fn(audio[name][: round(duration * 16000)]), duration)
            ts.append(t)
            gs.append(g)
            cells.append(f1(t, g))
        cells.append(f1(np.concatenate(ts), np.concatenate(gs)))
        flagged = sum(bool(fn(x)) for x in music) / len(music)
        print(
            f"| {method} | "
            + " | ".join(f"{p:.3f} / {r:.3f} / **{f:.3f}**" for f, p, r in cells)
            + f" | {flagged:.0%} ({len(music)} clips) |"
        )


def vad_tables(corpus: Path, methods=METHODS) -> tuple[list[dict], list[dict]]:
    """(F1 rows per method and file + pooled, flagged-as-speech rows per method and class)."""
    truths = truth_segments(corpus)
    audio = {name: read_mono(corpus / "segments" / name) for name in truths}
    f1_rows = []
    for method, fn in methods.items():
        pooled_t, pooled_g = [], []
        row = {"method": method}
        for name, (spans, duration) in truths.items():
            x = audio[name][: round(duration * 16000)]
            t, g = frames_of(spans, duration), frames_of(fn(x), duration)
            row[name] = f1(t, g)[0]
            pooled_t.append(t)
            pooled_g.append(g)
        row["pooled"], row["precision"], row["recall"] = f1(np.concatenate(pooled_t), np.concatenate(pooled_g))
        f1_rows.append(row)
    clips = {
        cls: [read_mono(p) for p in sorted((corpus / "classes_1s" / cls).glob("*.wav"))]
        for cls in ("music", "silence", "speech")
    }
    fp_rows = []
    for method, fn in methods.items():
        row = {"method": method}
        for cls, xs in clips.items():
            row[cls] = sum(bool(fn(x)) for x in xs) / len(xs)
        fp_rows.append(row)
    return f1_rows, fp_rows


def print_vad(corpus: Path) -> None:
    f1_rows, fp_rows = vad_tables(corpus)
    files = [k for k in f1_rows[0] if k.endswith(".wav")]
    print("| method | " + " | ".join(files) + " | pooled F1 | precision | recall |")
    print("|---" * (len(files) + 4) + "|")
    for r in f1_rows:
        print(
            f"| {r['method']} | "
            + " | ".join(f"{r[f]:.3f}" for f in files)
            + f" | **{r['pooled']:.3f}** | {r['precision']:.3f} | {r['recall']:.3f} |"
        )
    print()
    print("| method | music flagged | silence flagged | speech flagged (recall) |")
    print("|---|---|---|---|")
    for r in fp_rows:
        print(f"| {r['method']} | {r['music']:.0%} | {r['silence']:.0%} | {r['speech']:.0%} |")


# -- speech-to-text -------------------------------------------------------------------------------
def normalise(text: str) -> list[str]:
    """Lowercase words without punctuation (the WER convention of the issue)."""
    import re

    return re.sub(r"[^\w\s']", " ", text.lower()).split()


def wer(truth: list[str], guess: list[str]) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein distance over words."""
    prev = list(range(len(guess) + 1))
    for i, t in enumerate(truth, 1):
        cur = [i] + [0] * len(guess)
        for j, g in enumerate(guess, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (t != g))
        prev = cur
    return prev[-1], len(truth)


def asr_truths(corpus: Path) -> dict[str, str]:
    import csv

    with open(corpus / "MANIFEST.csv", newline="") as f:
        return {row["file"]: row["truth"] for row in csv.DictReader(f) if row["kind"] == "speech_asr"}


def pocketsphinx_whole(x: np.ndarray) -> str:
    """The baseline: pocketsphinx's decoder fed the whole file as one utterance, its default model."""
    import pocketsphinx

    decoder = pocketsphinx.Decoder(loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes(), False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp else ""


def rtaudio_transcript(x: np.ndarray, gate: bool = True, **config) -> str:
    from rtaudio.api import analyze
    from rtaudio.events import Transcript

    stt = {"engine": "pocketsphinx", "partials": False, "gate": gate, **config.pop("stt", {})}
    stages = ["vad", "stt"] if gate else ["stt"]
    events = analyze(x, rate=16000, stages=stages, config={"stt": stt, **config})
    return " ".join(e.text for e in events if isinstance(e, Transcript))


ASR_METHODS = {
    "pocketsphinx, whole file (baseline)": pocketsphinx_whole,
    "rtaudio stt, ungated": lambda x: rtaudio_transcript(x, gate=False),
    "rtaudio vad+stt, vad.min_silence_s=0.5 (transcribe's default)": lambda x: rtaudio_transcript(
        x, vad={"min_silence_s": 0.5}
    ),
    "rtaudio vad+stt, vad defaults (min_silence_s=0.1)": lambda x: rtaudio_transcript(x),
}


def print_wer(corpus: Path, methods=ASR_METHODS) -> None:
    truths = asr_truths(corpus)
    audio = {name: read_mono(corpus / name) for name in truths}
    names = [n.split("/")[-1] for n in truths]
    print("| method | " + " | ".join(names) + " | **WER (all)** |")
    print("|---" * (len(names) + 2) + "|")
    for method, fn in methods.items():
        edits = total = 0
        cells = []
        for name, truth in truths.items():
            e, n = wer(normalise(truth), normalise(fn(audio[name])))
            edits, total = edits + e, total + n
            cells.append(f"{e / n:.2f}")
        print(f"| {method} | " + " | ".join(cells) + f" | **{edits / total:.3f}** |")


def stt_cpu(x: np.ndarray, stages, config) -> tuple[float, float, int, float]:
    """(CPU s, wall s, words, seconds fed to the recogniser) for one run of ``stages`` over 16 kHz ``x``."""
    import time

    from rtaudio.engine import Engine
    from rtaudio.events import Transcript
    from rtaudio.sinks import ListSink
    from rtaudio.sources.array import ArraySource
    from rtaudio.stages import build_stages

    built = build_stages(stages, sample_rate=16000, channels=1, config=config)  # model loading not timed
    sink = ListSink()
    cpu, wall = time.process_time(), time.perf_counter()
    Engine(ArraySource(x, 16000), built, [sink]).run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    words = sum(len(e.words) for e in sink.events if isinstance(e, Transcript))
    return cpu, wall, words, built[-1].fed_s


def print_cpu(corpus: Path) -> None:
    """STT CPU time on the talking video, gated and not, pocketsphinx (and vosk-ko when installed)."""
    x = talking_video_16k(corpus)
    runs = {
        "pocketsphinx, ungated": (["stt"], {"stt": {"engine": "pocketsphinx", "gate": False, "partials": False}}),
        "pocketsphinx, gated (vad both)": (
            ["vad", "stt"],
            {"vad": {"min_silence_s": 0.5}, "stt": {"engine": "pocketsphinx", "partials": False}},
        ),
        "pocketsphinx + partials, ungated": (["stt"], {"stt": {"engine": "pocketsphinx", "gate": False}}),
        "pocketsphinx + partials, gated": (
            ["vad", "stt"],
            {"vad": {"min_silence_s": 0.5}, "stt": {"engine": "pocketsphinx"}},
        ),
    }
    try:  # the cost of vosk on the same audio (the Korean model: the only real vosk model installable here)
        from rtaudio.models.registry import resolve

        resolve("vosk-ko")
        runs["vosk-ko + partials, ungated"] = (["stt"], {"stt": {"language": "ko", "engine": "vosk", "gate": False}})
        runs["vosk-ko + partials, gated"] = (
            ["vad", "stt"],
            {"vad": {"min_silence_s": 0.5}, "stt": {"language": "ko", "engine": "vosk"}},
        )
    except Exception as exc:  # noqa: BLE001 - no vosk or no model: pocketsphinx rows only
        print(f"(no vosk rows: {exc})")
    print(f"talking-with-pauses.mp4: {len(x) / 16000:.1f} s")
    print("| recogniser | CPU s | wall s | audio fed to recogniser (s) | words | CPU ratio gated/ungated |")
    print("|---|---|---|---|---|---|")
    last = None
    for name, (stages, config) in runs.items():
        cpu, wall, words, fed = stt_cpu(x, stages, config)
        ratio = f"{cpu / last:.2f}" if "gated" in name and "ungated" not in name and last else ""
        print(f"| {name} | {cpu:.2f} | {wall:.2f} | {fed:.1f} | {words} | {ratio} |")
        last = cpu if "ungated" in name else None


KOREAN = ("맛있어요", "지하철 역이 어디예요", "오늘은 월요일입니다", "이것은 책입니다")


def print_korean() -> None:
    """vosk-ko: gated streaming transcript against vosk on the whole clip, and vosk against itself."""
    import difflib
    import json

    import vosk

    from rtaudio.api import analyze
    from rtaudio.events import Transcript
    from rtaudio.models.registry import resolve
    from rtaudio.stages.stt import load_vosk_model
    from rtaudio.testing import speech

    def agreement(a, b):
        m = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return sum(k.size for k in m.get_matching_blocks()) / max(len(a), len(b), 1)

    model = load_vosk_model(resolve("vosk-ko"))

    def whole(x):
        rec = vosk.KaldiRecognizer(model, 16000.0)
        rec.SetWords(True)
        pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
        out = []
        for i in range(0, len(pcm), 6400):
            if rec.AcceptWaveform(pcm[i : i + 6400]):
                out.append(json.loads(rec.Result()))
        out.append(json.loads(rec.FinalResult()))
        return [w["word"] for r in out for w in r.get("result", [])]

    rng = np.random.default_rng(1)
    parts, z = [np.zeros(16000, np.float32)], np.zeros(24000, np.float32)
    for text in KOREAN:
        y = speech(text, 16000, voice="ko")
        loud = np.flatnonzero(np.abs(y) > 1e-3)
        parts += [y[loud[0] : loud[-1] + 1], z]
    clean = np.concatenate(parts)
    print("| clip | gated vs whole clip | whole clip vs itself (decoded again) | gated vs itself |")
    print("|---|---|---|---|")
    for label, x in (
        ("silence = digital zero", clean),
        ("silence = noise at -50 dBFS", clean + rng.normal(0, 0.003, len(clean)).astype(np.float32)),
    ):
        cfg = {"vad": {"min_silence_s": 0.5}, "stt": {"language": "ko", "engine": "vosk", "partials": False}}
        g1 = [
            w.word
            for e in analyze(x, rate=16000, stages=["vad", "stt"], config=cfg)
            if isinstance(e, Transcript)
            for w in e.words
        ]
        w1, w2 = whole(x), whole(x)
        g2 = [
            w.word
            for e in analyze(x, rate=16000, stages=["vad", "stt"], config=cfg)
            if isinstance(e, Transcript)
            for w in e.words
        ]
        print(f"| {label} | {agreement(g1, w1):.2f} | {agreement(w1, w2):.2f} | {agreement(g1, g2):.2f} |")
        print(f"|  gated: {' '.join(g1)} | whole: {' '.join(w1)} | | |")


if __name__ == "__main__":
    corpus = corpus_dir()
    if corpus is None:
        sys.exit("corpus not found: set RTAUDIO_CORPUS")
    what = sys.argv[1] if len(sys.argv) > 1 else "vad"
    if what == "vad":
        print_vad(corpus)
    elif what == "intervals":
        print_intervals(corpus)
    elif what == "wer":
        print_wer(corpus)
    elif what == "cpu":
        print_cpu(corpus)
    elif what == "ko":
        print_korean()
    else:
        sys.exit(f"unknown table {what!r}; expected: vad, intervals, wer, cpu, ko")
