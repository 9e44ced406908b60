"""Whisper (faster-whisper, ``whisper-base``) on the dev corpus: language ID, transcripts, CPU cost.

Run it as a script (prints the tables of docs/langid.md and docs/speech.md)::

    .venv/bin/python benchmarks/whisper_eval.py lid       # 25 FLEURS clips: all speech, first 4 s, first 2 s; music
    .venv/bin/python benchmarks/whisper_eval.py wer       # speech_asr + FLEURS WER, whisper and pocketsphinx
    .venv/bin/python benchmarks/whisper_eval.py cpu       # CPU s per s of speech, whisper settings vs pocketsphinx
    .venv/bin/python benchmarks/whisper_eval.py variants  # WER of whisper settings and pocketsphinx in one run
    .venv/bin/python benchmarks/whisper_eval.py cpu fast=window_s:0.0,beam_size:1 full=window_s:30.0
    .venv/bin/python benchmarks/whisper_eval.py partials  # live-caption stability
    .venv/bin/python benchmarks/whisper_eval.py fleurs-gate  # FLEURS WER: VAD runs vs the whole clip as one run
    .venv/bin/python benchmarks/whisper_eval.py stall     # reader-thread time per block, live, worker processes

Everything runs through rtaudio's own stages (vad + lid, vad + stt) on 16 kHz mono audio, the way
``rtaudio langid`` and ``rtaudio transcribe`` run them. Numbers in the WER are normalised to words
(``normalise_numbers``: "25" = "twenty five", "1" = "one").
"""

from __future__ import annotations

import csv
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parent),
]  # this checkout's rtaudio
from speech_eval import asr_truths, corpus_dir, normalise, read_mono, wer  # noqa: E402

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _spell(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _spell(n % 100))
    if 1000 < n < 10000 and (n // 100) % 10 != 0:  # read as pairs (years): 1995 -> nineteen ninety five
        return _spell(n // 100) + " " + (_spell(n % 100) if n % 100 >= 10 else "oh " + _ONES[n % 100])
    if n < 10000:
        return _ONES[n // 1000] + " thousand" + ("" if n % 1000 == 0 else " " + _spell(n % 1000))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise_numbers(text: str, english: bool = True) -> list[str]:
    """:func:`speech_eval.normalise` words, digits spelled out in English ("one" = "1"; "oh" = "zero")."""
    words = normalise(re.sub(r"(?<=\d),(?=\d{3})", "", text))  # 1,001 -> 1001
    if not english:
        return words
    out = []
    for w in words:
        if w.isdigit():  # digit strings (leading zero, 5+ digits) are read digit by digit
            spelled = (
                _spell(int(w))
                if len(w) <= 4 and not (w.startswith("0") and len(w) > 1)
                else " ".join(_ONES[int(d)] for d in w)
            )
            out += spelled.split()
        elif w == "oh":
            out.append("zero")
        else:
            out.append(w)
    return out


def manifest(corpus: Path, kind: str) -> list[dict]:
    with open(corpus / "MANIFEST.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row["kind"] == kind]


# -- language ID --------------------------------------------------------------------------------------------
def lid(x: np.ndarray, **params) -> dict:
    """``rtaudio langid``'s decision (vad + lid, whisper backend, one decision) on 16 kHz ``x``."""
    from rtaudio.engine import Engine
    from rtaudio.sources.array import ArraySource
    from rtaudio.stages import build_stages

    cfg = {"backend": "whisper", "live": False, "gate": "vad", **params}
    stages = build_stages(["vad", "lid"], sample_rate=16000, channels=1, config={"lid": cfg})
    Engine(ArraySource(x, 16000), stages, []).run()
    return stages[-1].decision()


def print_lid(corpus: Path) -> None:
    rows = manifest(corpus, "speech_lid")
    print("| clip | truth | all speech | p | first 4 s | p | first 2 s | p | s/clip |")
    print("|---|---|---|---|---|---|---|---|---|")
    right = {"all": 0, "4": 0, "2": 0}
    for row in rows:
        x = read_mono(corpus / row["file"])
        t = time.perf_counter()
        d_all = lid(x)
        wall = time.perf_counter() - t
        d4 = lid(x, max_speech_s=4.0, window_s=2.0)
        d2 = lid(x, max_speech_s=2.0, window_s=2.0)
        truth = row["language"]
        for key, d in (("all", d_all), ("4", d4), ("2", d2)):
            right[key] += d["language"] == truth
        print(
            f"| {Path(row['file']).name} | {truth} | {d_all['language']} | {d_all['probability']:.2f} | "
            f"{d4['language']} | {d4['probability']:.2f} | {d2['language']} | {d2['probability']:.2f} | {wall:.1f} |"
        )
    n = len(rows)
    print(
        f"| **top-1** | | **{right['all']}/{n} = {right['all'] / n:.0%}** | | **{right['4']}/{n} = {right['4'] / n:.0%}** "
        f"| | **{right['2']}/{n} = {right['2'] / n:.0%}** | | |"
    )
    print()
    print("| non-speech file | decision | p | speech_s |")
    print("|---|---|---|---|")
    others = sorted((corpus / "music").glob("*.*")) + sorted((corpus / "nonspeech").glob("*.*"))
    for path in others:
        if path.suffix in (".txt", ".csv"):
            continue
        d = lid(read_mono(path))
        print(f"| {path.parent.name}/{path.name} | {d['language']} | {d['probability']:.2f} | {d['speech_s']} |")


# -- transcripts --------------------------------------------------------------------------------------------
def transcript(x: np.ndarray, engine: str, language: str = "en", partials: bool = False, **stt) -> tuple[str, list]:
    """(final text, all events) of vad + stt with ``engine`` on 16 kHz ``x`` (``rtaudio transcribe``'s VAD setting)."""
    from rtaudio.api import analyze
    from rtaudio.events import Transcript

    cfg = {"engine": engine, "partials": partials, "language": language, **stt}
    events = analyze(x, rate=16000, stages=["vad", "stt"], config={"stt": cfg, "vad": {"min_silence_s": 0.5}})
    return " ".join(e.text for e in events if isinstance(e, Transcript)), events


def print_wer(corpus: Path) -> None:
    truths = asr_truths(corpus)
    print("| speech_asr clip | words | whisper WER | pocketsphinx WER | whisper text |")
    print("|---|---|---|---|---|")
    tot = {"whisper": [0, 0], "pocketsphinx": [0, 0]}
    for name, truth in truths.items():
        x = read_mono(corpus / name)
        ref = normalise_numbers(truth)
        cells = []
        for engine in ("whisper", "pocketsphinx"):
            text, _ = transcript(x, engine)
            e, n = wer(ref, normalise_numbers(text))
            tot[engine][0] += e
            tot[engine][1] += n
            cells.append(f"{e / n:.3f}")
            if engine == "whisper":
                shown = text
        print(f"| {Path(name).name} | {len(ref)} | {cells[0]} | {cells[1]} | {shown} |")
    w, p = tot["whisper"], tot["pocketsphinx"]
    print(f"| **all** | {w[1]} | **{w[0] / w[1]:.3f}** | **{p[0] / p[1]:.3f}** | |")
    print()
    print("| FLEURS clip | language | words | whisper WER (language given) | whisper WER (language detected) |")
    print("|---|---|---|---|---|")
    per: dict[str, list[int]] = {}
    for row in manifest(corpus, "speech_lid"):
        x = read_mono(corpus / row["file"])
        lang = row["language"]
        ref = normalise_numbers(row["truth"], english=lang == "en")
        cells = []
        for language in (lang, "auto"):
            text, _ = transcript(x, "whisper", language=language)
            e, n = wer(ref, normalise_numbers(text, english=lang == "en"))
            cells.append(f"{e / n:.3f}")
            if language == lang:
                per.setdefault(lang, [0, 0])
                per[lang][0] += e
                per[lang][1] += n
        print(f"| {Path(row['file']).name} | {lang} | {len(ref)} | {cells[0]} | {cells[1]} |")
    print()
    print("| language | WER (5 clips, language given) |")
    print("|---|---|")
    for lang, (e, n) in per.items():
        print(f"| {lang} | {e / n:.3f} |")


def print_fleurs_gate(corpus: Path) -> None:
    """FLEURS WER, language given: the VAD's runs (as above) against the whole clip as one run (``gate=False``)."""
    print(
        "| FLEURS clip | language | words | WER, VAD runs | transcribed span (s) | WER, whole clip one run | clip (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    per: dict[str, list[int]] = {}
    for row in manifest(corpus, "speech_lid"):
        x = read_mono(corpus / row["file"])
        lang = row["language"]
        ref = normalise_numbers(row["truth"], english=lang == "en")
        cells = []
        for gate in (True, False):
            from rtaudio.events import Transcript

            text, events = transcript(x, "whisper", language=lang, gate=gate)
            e, n = wer(ref, normalise_numbers(text, english=lang == "en"))
            cells.append(f"{e / n:.3f}")
            per.setdefault((lang, gate), [0, 0])
            per[(lang, gate)][0] += e
            per[(lang, gate)][1] += n
            if gate:
                fed = sum((t.end - t.start) for t in events if isinstance(t, Transcript)) / 16000
                cells.append(f"{fed:.1f}")
        print(
            f"| {Path(row['file']).name} | {lang} | {len(ref)} | {cells[0]} | {cells[1]} | {cells[2]} | {len(x) / 16000:.1f} |"
        )
    print()
    print("| language | WER, VAD runs | WER, whole clip one run |")
    print("|---|---|---|")
    for lang in dict.fromkeys(k[0] for k in per):
        g, u = per[(lang, True)], per[(lang, False)]
        print(f"| {lang} | {g[0] / g[1]:.3f} | {u[0] / u[1]:.3f} |")


#: Whisper settings compared by ``cpu`` and ``variants`` (stt parameters; ``{}``: the defaults).
VARIANTS = {
    "w30 b5 (faster-whisper's 30 s window)": {"window_s": 30.0, "beam_size": 5},
    "w10 b5": {"window_s": 10.0, "beam_size": 5},
}


def _variants(argv: list[str]) -> dict[str, dict]:
    """``name=k:v,k:v`` arguments (e.g. ``fast=window_s:0,beam_size:1``), else :data:`VARIANTS`."""
    if not argv:
        return VARIANTS
    out = {}
    for arg in argv:
        name, _, spec = arg.partition("=")
        out[name] = {k: float(v) if "." in v else int(v) for k, v in (kv.split(":") for kv in spec.split(",") if kv)}
    return out


def print_cpu(corpus: Path, argv: list[str] = ()) -> None:
    """CPU seconds per second of speech fed to the recogniser, whisper settings and pocketsphinx in the same run."""
    from rtaudio.engine import Engine
    from rtaudio.sinks import ListSink
    from rtaudio.sources.array import ArraySource
    from rtaudio.stages import build_stages

    files = [corpus / n for n in asr_truths(corpus)] + [corpus / r["file"] for r in manifest(corpus, "speech_lid")[::5]]
    audio = {p.name: read_mono(p) for p in files}
    runs = []
    argv = list(argv)
    live = (False,) if "nopartials" in argv else (False, True)
    argv = [a for a in argv if a != "nopartials"]
    for partials in live:
        runs.append(("pocketsphinx", partials, {}))
        runs += [(f"whisper {name}", partials, params) for name, params in _variants(list(argv)).items()]
    print("| engine | partials | CPU s | audio fed (s) | CPU s per s of speech | wall s |")
    print("|---|---|---|---|---|---|")
    for engine, partials, params in runs:
        cpu = wall = fed = 0.0
        for x in audio.values():
            built = build_stages(
                ["vad", "stt"],
                sample_rate=16000,
                channels=1,
                config={
                    "vad": {"min_silence_s": 0.5},
                    "stt": {"engine": engine.split()[0], "partials": partials, "language": "auto", **params},
                },
            )
            c, w = time.process_time(), time.perf_counter()
            Engine(ArraySource(x, 16000), built, [ListSink()]).run()
            cpu += time.process_time() - c
            wall += time.perf_counter() - w
            fed += built[-1].fed_s
        print(f"| {engine} | {partials} | {cpu:.1f} | {fed:.1f} | {cpu / fed:.3f} | {wall:.1f} |", flush=True)


def print_variants(corpus: Path, argv: list[str] = ()) -> None:
    """WER of whisper settings (:data:`VARIANTS` or ``name=k:v,...`` arguments) and pocketsphinx in one run:
    ``speech_asr`` per clip and all (English), FLEURS per language (language given)."""
    variants = _variants(list(argv))
    truths = asr_truths(corpus)
    names = list(variants) + ["pocketsphinx"]
    print("| speech_asr clip | words | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    tot = {n: [0, 0] for n in names}
    for clip, truth in truths.items():
        x = read_mono(corpus / clip)
        ref = normalise_numbers(truth)
        cells = []
        for n in names:
            text, _ = transcript(x, "pocketsphinx") if n == "pocketsphinx" else transcript(x, "whisper", **variants[n])
            e, k = wer(ref, normalise_numbers(text))
            tot[n][0] += e
            tot[n][1] += k
            cells.append(f"{e / k:.3f}")
        print(f"| {Path(clip).name} | {len(ref)} | " + " | ".join(cells) + " |", flush=True)
    print(f"| **all** | {tot[names[0]][1]} | " + " | ".join(f"**{e / k:.3f}**" for e, k in tot.values()) + " |")
    print()
    per: dict[str, dict[str, list[int]]] = {}
    for row in manifest(corpus, "speech_lid"):
        x = read_mono(corpus / row["file"])
        lang = row["language"]
        ref = normalise_numbers(row["truth"], english=lang == "en")
        for n in names[:-1]:
            text, _ = transcript(x, "whisper", language=lang, **variants[n])
            e, k = wer(ref, normalise_numbers(text, english=lang == "en"))
            acc = per.setdefault(n, {}).setdefault(lang, [0, 0])
            acc[0] += e
            acc[1] += k
    langs = list(dict.fromkeys(r["language"] for r in manifest(corpus, "speech_lid")))
    print("| FLEURS WER (5 clips each, language given) | " + " | ".join(langs) + " | all |")
    print("|---|" + "---|" * (len(langs) + 1))
    for n in names[:-1]:
        e_all = sum(per[n][lang][0] for lang in langs)
        k_all = sum(per[n][lang][1] for lang in langs)
        cells = [f"{per[n][lang][0] / per[n][lang][1]:.3f}" for lang in langs]
        print(f"| {n} | " + " | ".join(cells) + f" | {e_all / k_all:.3f} |")


def print_partials(corpus: Path) -> None:
    """Live captions (placement ``inline``: every partial decode is made): how many, how many shown words a later
    partial or the run's final transcript changed (case and punctuation aside), when the first came."""
    from rtaudio.events import PartialTranscript, Transcript

    names = list(asr_truths(corpus)) + [r["file"] for r in manifest(corpus, "speech_lid")[::5]]
    print(
        "| clip | partials | words shown in partials | shown words a later partial or the final changed "
        "| first partial at (s, source clock) |"
    )
    print("|---|---|---|---|---|")
    for name in names:
        x = read_mono(corpus / name)
        _, events = transcript(x, "whisper", language="auto", partials=True)
        shown = changed = 0
        prev: list[str] = []
        first = None
        for e in events:
            if isinstance(e, PartialTranscript):
                words = e.text.split()
                if first is None:
                    first = e.t / 16000
                changed += sum(a != b for a, b in zip(prev, words, strict=False)) + max(0, len(prev) - len(words))
                shown += max(0, len(words) - len(prev))
                prev = words
            elif isinstance(e, Transcript):
                final = e.text.split()
                changed += sum(
                    re.sub(r"\W", "", a.lower()) != re.sub(r"\W", "", b.lower())
                    for a, b in zip(prev, final, strict=False)
                ) + max(0, len(prev) - len(final))
                prev = []
        n = sum(isinstance(e, PartialTranscript) for e in events)
        print(f"| {Path(name).name} | {n} | {shown} | {changed} | {first if first is None else round(first, 2)} |")


def print_stall(corpus: Path) -> None:
    """Live: vad + lid + stt with Whisper in worker processes (the window commands' setting), the input paced
    at real time in 1024-sample blocks. Reports the longest time the reader thread spent in one block's
    stage calls, and when captions and language decisions came (wall clock after the audio they cover)."""
    from rtaudio.engine import Engine
    from rtaudio.events import Language, PartialTranscript, Transcript
    from rtaudio.sinks import ListSink
    from rtaudio.sources.array import ArraySource
    from rtaudio.stages import build_stages

    names = ["speech_asr/jfk.flac", "speech_lid/fleurs-en-000.ogg", "speech_lid/fleurs-en-002.ogg"]
    gap = np.zeros(16000, np.float32)
    x = np.concatenate([np.concatenate([read_mono(corpus / n), gap]) for n in names])
    config = {
        "vad": {"min_silence_s": 0.5},
        "lid": {"backend": "whisper"},
        "stt": {"engine": "whisper", "language": "auto"},
    }
    placement = {"lid": "process", "stt": "process"}
    stages = build_stages(["vad", "lid", "stt"], sample_rate=16000, channels=1, config=config, placement=placement)
    times: list[float] = []
    arrivals: list[tuple[float, object]] = []
    t0 = [0.0]
    for stage in stages:
        original = stage.process

        def timed(frame, _original=original):
            t = time.perf_counter()
            out = _original(frame)
            times.append(time.perf_counter() - t)
            arrivals.extend((time.perf_counter() - t0[0], e) for e in out)
            return out

        stage.process = timed
    t0[0] = time.perf_counter()
    Engine(ArraySource(x, 16000, block=1024, realtime=True), stages, [ListSink()]).run()
    per_block = np.add.reduceat(np.array(times), np.arange(0, len(times), len(stages)))
    print(f"input: {len(x) / 16000:.1f} s ({', '.join(names)}), paced at real time, 1024-sample blocks")
    print(
        f"reader thread per block (vad+lid+stt): max {per_block.max() * 1000:.1f} ms, "
        f"p99 {np.percentile(per_block, 99) * 1000:.2f} ms, mean {per_block.mean() * 1000:.2f} ms"
    )
    lat = {"language": [], "partial": [], "transcript": []}
    for wall, e in arrivals:
        t = (e.t if hasattr(e, "t") else e.end) / 16000
        key = {Language: "language", PartialTranscript: "partial", Transcript: "transcript"}.get(type(e))
        if key:
            lat[key].append(wall - t)
    for key, values in lat.items():
        if values:
            print(
                f"{key}: {len(values)} events, delay after the audio they cover: median {np.median(values):.2f} s, max {max(values):.2f} s"
            )


def main(argv: list[str]) -> int:
    corpus = corpus_dir()
    if corpus is None:
        print("no corpus: set RTAUDIO_CORPUS (default ../shared/corpus)", file=sys.stderr)
        return 1
    what = argv[1] if len(argv) > 1 else "lid"
    if what in ("cpu", "variants"):
        {"cpu": print_cpu, "variants": print_variants}[what](corpus, argv[2:])
        return 0
    {
        "lid": print_lid,
        "wer": print_wer,
        "cpu": print_cpu,
        "partials": print_partials,
        "stall": print_stall,
        "fleurs-gate": print_fleurs_gate,
    }[what](corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
