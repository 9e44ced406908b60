"""Stem separation on real recordings: SI-SDR improvement, speed, peak memory.

    .venv/bin/python benchmarks/separation_eval.py quality --backend dsp
    .venv/bin/python benchmarks/separation_eval.py speed --backend dsp
    .venv/bin/python benchmarks/separation_eval.py memory --backend dsp --minutes 10
    .venv-spleeter/bin/python benchmarks/separation_eval.py speed --backend spleeter --model DIR
    .venv-spleeter/bin/python benchmarks/separation_eval.py speed --backend onnx --model DIR-onnx
    PYTHONPATH=. .venv/bin/python benchmarks/separation_eval.py speed --backend onnx --threads 1
    PYTHONPATH=. .venv/bin/python benchmarks/separation_eval.py latency --backend onnx --threads 1 --frames 64 --segment 1.39
    PYTHONPATH=. .venv/bin/python benchmarks/separation_eval.py dialogue --speech lid_train   # choose the gate
    PYTHONPATH=. .venv/bin/python benchmarks/separation_eval.py dialogue                     # report
    PYTHONPATH=. .venv/bin/python benchmarks/separation_eval.py route --speech tune --dialogue-model DIR  # router
    PYTHONPATH=. .venv/bin/python benchmarks/separation_eval.py dialogue --quick --route 0.46 --dialogue-model DIR

quality: every speech clip of the dev corpus (``speech_lid/`` 25 FLEURS clips in 5 languages,
``speech_asr/`` 8 English clips) over a music recording of ``music/`` (Vibe Ace (jazz), the snare
tempo ramp, beat-small, doremi (a scale), sir_duke_slow (brass); ``spleeter-audio_example`` has
vocals and is left out), cut to the shorter of the two (<= 20 s), mixed at 16 kHz at 0, -5 and +5 dB
speech-to-music power ratio. Score: SI-SDR of the vocals stem against the clean speech, minus the
SI-SDR of the mixture itself (the baseline: doing nothing), in dB; also for the accompaniment stem
against the music.

speed: a 60 s, 44.1 kHz stereo input (Vibe Ace with speech on top), separated in process after a
warm-up; seconds per second of audio and x real time, with the time of a plain STFT + inverse STFT
of the same input in the same run as the reference cost.

memory: a file of N minutes (Vibe Ace repeated, 44.1 kHz stereo) separated by ``rtaudio separate``
in a child process; its peak RSS, next to the peak RSS of a child that only decodes the same file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("RTAUDIO_CORPUS") or ROOT / ".." / "shared" / "corpus")
MUSIC = [
    "music/Kevin_MacLeod_-_Vibe_Ace.ogg",
    "music/snare-accelerate.ogg",
    "music/beat-small.wav",
    "music/doremi.wav",
    "music/sir_duke_slow.ogg",
]
RATE = 16000


def load(rel: str, rate: int) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(CORPUS / rel, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return soxr.resample(x, sr, rate).astype(np.float32) if sr != rate else x


def pairs(rate: int = RATE, max_s: float = 20.0):
    """(speech file, music file, speech, music) for every speech clip, music chosen in turn."""
    rows = list(csv.DictReader(open(CORPUS / "MANIFEST.csv")))
    speech = [r["file"] for r in rows if r["kind"] in ("speech_lid", "speech_asr")]
    music = {m: load(m, rate) for m in MUSIC}
    out = []
    for i, s in enumerate(speech):
        sp = load(s, rate)
        m = MUSIC[i % len(MUSIC)]
        mu = music[m]
        n = min(len(sp), len(mu), int(max_s * rate))
        off = (i * 7919 * rate // 100) % max(1, len(mu) - n + 1)
        out.append((s, m, sp[:n], mu[off : off + n]))
    return out


def sisdr(est: np.ndarray, ref: np.ndarray) -> float:
    est, ref = est.astype(np.float64), ref.astype(np.float64)
    a = est @ ref / max(ref @ ref, 1e-12)
    e, r = a * ref, est - a * ref
    return float(10 * np.log10(max(e @ e, 1e-20) / max(r @ r, 1e-20)))


def make_separator(args, rate, channels):
    from rtaudio.jobs.separation import SeparationParams, Separator

    params = SeparationParams(
        backend=args.backend, model=args.model, frames=args.frames, segment_s=args.segment, overlap_s=args.overlap
    )
    backend = None
    if args.backend == "onnx" and args.threads:  # onnxruntime on a given number of threads (1 = one core)
        from rtaudio.jobs.separation.onnx import OnnxBackend
        from rtaudio.models.registry import resolve

        backend = OnnxBackend(resolve("spleeter-2stems-onnx", args.model), frames=args.frames, threads=args.threads)
    return Separator(params, rate=rate, channels=channels, backend=backend)


def latency(args) -> dict:
    """Near-live: a 30 s, 44.1 kHz stereo stream fed in 10 ms blocks; per block, the compute time, and the
    age of the newest stem sample given out (how far the stems trail the input), in seconds."""
    x = sixty_seconds()[: 30 * 44100]
    sep = make_separator(args, 44100, 2)
    sep.separate(x[: 3 * 44100])  # warm-up
    sep = _reset(sep)
    block = 441
    lag, cost, out = [], [], 0
    for i in range(0, len(x), block):
        t = time.perf_counter()
        ready = sep.process(x[i : i + block])
        cost.append(time.perf_counter() - t)
        out += len(ready["vocals"])
        lag.append((i + block - out) / 44100 + cost[-1])
    lag = np.array(lag[len(lag) // 4 :])  # after the start-up
    result = {
        "backend": args.backend,
        "model": sep.backend.model,
        "segment_s": round(sep.segment / sep.work_rate, 3),
        "overlap_s": round(sep.overlap / sep.work_rate, 3),
        "threads": args.threads,
        "stem_lag_s_mean": round(float(lag.mean()), 3),
        "stem_lag_s_max": round(float(lag.max()), 3),
        "block_compute_s_max": round(max(cost), 3),
        "compute_s_per_s": round(sum(cost) / 30.0, 4),
        "load_avg": os.getloadavg(),
    }
    print(json.dumps(result), flush=True)
    return result


def quality(args) -> dict:
    data = pairs()
    result = {}
    for snr in (0, -5, 5):
        rows = []
        sep = make_separator(args, RATE, 1)
        for s, m, sp, mu in data:
            g = np.sqrt(np.mean(sp**2) / (np.mean(mu**2) * 10 ** (snr / 10)))
            music = mu * g
            mix = sp + music
            out = sep.separate(mix)
            rows.append(
                {
                    "speech": s,
                    "music": m,
                    "vocals_sisdri": sisdr(out["vocals"], sp) - sisdr(mix, sp),
                    "accomp_sisdri": sisdr(out["accompaniment"], music) - sisdr(mix, music),
                }
            )
            sep = make_separator(args, RATE, 1) if args.fresh else sep
        v = np.array([r["vocals_sisdri"] for r in rows])
        a = np.array([r["accomp_sisdri"] for r in rows])
        per_music = {
            m.split("/")[1]: round(float(np.mean([r["vocals_sisdri"] for r in rows if r["music"] == m])), 2)
            for m in MUSIC
        }
        result[f"{snr:+d} dB"] = {
            "clips": len(rows),
            "vocals_sisdri_mean": round(float(v.mean()), 2),
            "vocals_sisdri_median": round(float(np.median(v)), 2),
            "vocals_worse_than_mix": int((v < 0).sum()),
            "accomp_sisdri_mean": round(float(a.mean()), 2),
            "vocals_by_music": per_music,
        }
        print(
            f"{args.backend} {snr:+d} dB: vocals SI-SDRi mean {v.mean():+.2f} dB, median {np.median(v):+.2f} dB "
            f"({(v < 0).sum()}/{len(v)} below the mix); accompaniment {a.mean():+.2f} dB; by music {per_music}",
            flush=True,
        )
    return result


#: music with singing: spleeter's own example (a sung song), and a medley of the 1-second song clips
#: of ``classes_1s/music`` (pop/rock/metal with vocals, 8 kHz originals)
SUNG = ["music/spleeter-audio_example.mp3", "classes_1s/music (medley)"]
#: the variants of the dialogue gate (what the speech detector listens to, cross-fade in seconds);
#: one is chosen on lid_train mixtures (``--speech lid_train``), never on the corpus mixtures reported
GATES = [("vocals", 0.05), ("vocals", 0.2), ("mix", 0.05)]


def medley(rate: int) -> np.ndarray:
    """The 1-second song clips of ``classes_1s/music`` one after another (10 ms fades), at ``rate``."""
    clips = sorted((CORPUS / "classes_1s" / "music").glob("*.wav"))
    fade = np.sin(0.5 * np.pi * np.arange(int(0.01 * rate)) / int(0.01 * rate)) ** 2
    parts = []
    for c in clips:
        x = load(str(c.relative_to(CORPUS)), rate)
        x[: len(fade)] *= fade
        x[-len(fade) :] *= fade[::-1]
        parts.append(x / max(np.sqrt(np.mean(x**2)), 1e-6))
    return np.concatenate(parts).astype(np.float32)


def speech_clips(which: str, rate: int) -> list[tuple[str, np.ndarray]]:
    """corpus: every clip of speech_lid/ and speech_asr/; lid_train: 5 Common Voice clips per language."""
    if which == "corpus":
        rows = list(csv.DictReader(open(CORPUS / "MANIFEST.csv")))
        return [(r["file"], load(r["file"], rate)) for r in rows if r["kind"] in ("speech_lid", "speech_asr")]
    import soundfile as sf
    import soxr

    root = ROOT / ".." / "shared" / "lid_train"
    out = []
    for lang in ("en", "de", "es", "fr", "ja", "ru"):
        for f in sorted((root / lang).glob("*common_voice*"))[:5]:
            x, sr = sf.read(f, dtype="float32", always_2d=True)
            out.append((f"lid_train/{lang}/{f.name}", soxr.resample(x.mean(axis=1), sr, rate).astype(np.float32)))
    return out


def tune_pairs(max_s: float = 20.0):
    """The tuning set, nothing from the corpus (``models/dialogue/dialogue_data.py``): each of the 30 lid_train tuning
    clips over a Debian tuning track, and over that track with one of 10 held-out voices sung over it (+3 dB)."""
    sys.path.insert(0, str(ROOT / "models" / "dialogue"))
    import dialogue_data as data

    split = data.speech_split()
    tracks = data.music_tracks()["tune"]
    music = {k: data.load_music(v) for k, v in tracks.items()}
    rng = np.random.default_rng(12345)
    voices = [(f.name, data.sing(data.load(f), rng)) for f in split["sing_tune"]]
    names = sorted(music)
    out = []
    for i, f in enumerate(split["tune"]):
        sp = data.load(f)
        m = names[i % len(names)]
        mu = music[m]
        n = min(len(sp), len(mu), int(max_s * RATE))
        off = (i * 7919 * RATE // 100) % max(1, len(mu) - n + 1)
        s = f"lid_train/{f.parent.name}/{f.name}"
        out.append(("instrumental", s, m, sp[:n], mu[off : off + n]))
        v_name, v = voices[i % len(voices)]
        sung = data.sung_music(mu[off : off + n], v[(i * 3 * RATE) % max(1, len(v) - n) :], rng, 3.0)
        out.append(("sung", s, f"{m} + sung {v_name}", sp[:n], sung))
    return out


def dialogue_mixtures(which: str, levels):
    """(snr dB, category, speech file, music name, speech, mix, SI-SDR of the mix): each pair of
    :func:`dialogue_pairs` mixed at each speech-to-music power ratio in ``levels``."""
    data = dialogue_pairs(which)
    for snr in levels:
        for category, s, m, sp, mu in data:
            mix = sp + mu * np.sqrt(np.mean(sp**2) / (np.mean(mu**2) * 10 ** (snr / 10)))
            yield snr, category, s, m, sp, mix, sisdr(mix, sp)


def dialogue_pairs(which: str, rate: int = RATE, max_s: float = 20.0):
    """(category, speech file, music name, speech, music): each speech clip over instrumental and over sung music."""
    if which == "tune":
        return tune_pairs(max_s)
    speech = speech_clips(which, rate)
    music = {m: load(m, rate) for m in MUSIC}
    music[SUNG[0]] = load(SUNG[0], rate)
    music[SUNG[1]] = medley(rate)
    out = []
    for i, (s, sp) in enumerate(speech):
        for category, m in (("instrumental", MUSIC[i % len(MUSIC)]), ("sung", SUNG[i % len(SUNG)])):
            mu = music[m]
            n = min(len(sp), len(mu), int(max_s * rate))
            off = (i * 7919 * rate // 100) % max(1, len(mu) - n + 1)
            out.append((category, s, m, sp[:n], mu[off : off + n]))
    return out


def dialogue(args) -> dict:
    """SI-SDR improvement of dialogue (speech) over real music: dsp, spleeter's vocals, vocals gated by the VAD."""
    from rtaudio.jobs.separation import SeparationParams, Separator
    from rtaudio.jobs.separation.dialogue import gate, speech_spans
    from rtaudio.jobs.separation.onnx import OnnxBackend
    from rtaudio.models.registry import resolve

    model = resolve("spleeter-2stems-onnx", args.model)
    onnx = OnnxBackend(model, threads=args.threads)
    print(f"spleeter model: {model} ({onnx.model.get('source')})", file=sys.stderr, flush=True)
    tuned = {}  # method name -> backend: spleeter fine-tuned for dialogue (models/dialogue/train_dialogue.py)
    for path in args.dialogue_model or []:
        name = "dialogue_" + Path(path).name.replace("spleeter-2stems-dialogue", "model").replace("-", "_")
        tuned[name] = OnnxBackend(Path(path), threads=args.threads)
    if args.route is not None:  # the fine-tune used only where the segment has singing (rtaudio.jobs.separation.route)
        from rtaudio.jobs.separation.route import RoutedBackend

        if not tuned:
            raise SystemExit("--route needs a --dialogue-model")
        tuned["routed"] = RoutedBackend(onnx, next(iter(tuned.values())), threshold_db=args.route)
    rows = []
    for snr, category, s, m, sp, mix, base in dialogue_mixtures(args.speech, args.levels):
        row = {"snr_db": snr, "category": category, "speech": s, "music": m, "seconds": round(len(sp) / RATE, 2)}
        c = time.process_time()
        dsp = Separator(SeparationParams(backend="dsp"), rate=RATE, channels=1).separate(mix)
        row["dsp_cpu_s"] = round(time.process_time() - c, 3)
        row["dsp"] = sisdr(dsp["vocals"], sp) - base
        t, c = time.perf_counter(), time.process_time()
        out = Separator(SeparationParams(backend="onnx"), rate=RATE, channels=1, backend=onnx).separate(mix)
        row["spleeter_s"] = round(time.perf_counter() - t, 3)
        row["spleeter_vocals_cpu_s"] = round(time.process_time() - c, 3)
        row["spleeter_vocals"] = sisdr(out["vocals"], sp) - base
        for name, backend in tuned.items():
            t, c = time.perf_counter(), time.process_time()
            ft = Separator(SeparationParams(backend="onnx"), rate=RATE, channels=1, backend=backend).separate(mix)
            row[f"{name}_s"] = round(time.perf_counter() - t, 3)
            row[f"{name}_cpu_s"] = round(time.process_time() - c, 3)
            row[name] = sisdr(ft["vocals"], sp) - base
            if name == "routed":
                row["routed_segments"] = backend.decisions
                backend.decisions = []
        if args.quick:
            rows.append(row)
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
            continue
        spans = {"vocals": speech_spans(out["vocals"], RATE), "mix": speech_spans(mix, RATE)}
        for listen, fade in GATES:
            g = gate(len(mix), spans[listen], RATE, fade)
            row[f"gated_{listen}_{int(fade * 1000)}ms"] = sisdr(out["vocals"] * g, sp) - base
        # the dsp model (repetition, steady notes) on the vocals stem: sung notes are steady, speech is not
        cascade = Separator(SeparationParams(backend="dsp"), rate=RATE, channels=1).separate(out["vocals"])
        row["cascade_dsp"] = sisdr(cascade["vocals"], sp) - base
        g = gate(len(mix), spans["vocals"], RATE, 0.05)
        row["cascade_dsp_gated"] = sisdr(cascade["vocals"] * g, sp) - base
        rows.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    methods = ["dsp", "spleeter_vocals", *tuned]
    if not args.quick:
        methods += [f"gated_{a}_{int(f * 1000)}ms" for a, f in GATES] + ["cascade_dsp", "cascade_dsp_gated"]
    summary = {}
    for snr in args.levels:
        for category in ("instrumental", "sung", "all"):
            sel = [r for r in rows if r["snr_db"] == snr and category in ("all", r["category"])]
            summary[f"{snr:+d} dB {category}"] = {
                "mixtures": len(sel),
                **{m: round(float(np.mean([r[m] for r in sel])), 2) for m in methods},
                **{f"{m}_median": round(float(np.median([r[m] for r in sel])), 2) for m in methods},
            }
    for k, v in summary.items():
        print(k, json.dumps(v), flush=True)
    audio = sum(r["seconds"] for r in rows)
    cpu = {m: round(sum(r[f"{m}_cpu_s"] for r in rows), 2) for m in methods if f"{m}_cpu_s" in rows[0]}
    speed = {m: {"cpu_s": v, "x_realtime_per_core": round(audio / v, 1)} for m, v in cpu.items()}
    print("CPU time over", round(audio, 1), "s of audio:", json.dumps(speed), flush=True)
    worse = {}
    if "routed" in methods:  # the mixtures the routing makes worse than plain spleeter
        worse = [
            {k: r[k] for k in ("snr_db", "category", "speech", "music", "spleeter_vocals", "routed", "routed_segments")}
            for r in rows
            if r["routed"] < r["spleeter_vocals"] - 0.1
        ]
        print(f"routed worse than plain spleeter by > 0.1 dB on {len(worse)} mixtures:", flush=True)
        for w in worse:
            print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in w.items()}), flush=True)
    return {
        "speech": args.speech,
        "model": str(model),
        "dialogue_models": {name: b.model for name, b in tuned.items()},
        "spleeter_x_realtime": round(audio / sum(r["spleeter_s"] for r in rows), 1),
        "cpu": speed,
        "routed_worse_than_plain": worse,
        "summary": summary,
        "rows": rows,
    }


class RouteVariants:
    """A bench-only backend: plain spleeter's and the fine-tune's masks from one STFT, and every variant's vocals
    (as many "stems"), so that one Separator pass (segments, cross-fades, level normalisation as in the job)
    measures them all. Per segment it records the features a router could use."""

    name = "onnx"
    overlap_s = 1.0
    level_normalize = True
    FRAME_THRESHOLDS = (0.0, 1.0, 2.0, 3.0)  # per-frame routing: singing dB over 1 s around each frame

    def __init__(self, plain, tuned, thresholds):
        from rtaudio.jobs.separation.route import RoutedBackend

        self.route = RoutedBackend(plain, tuned)  # checks the two models share one STFT
        self.thresholds = thresholds
        self.stems = (
            "plain",
            "tuned",
            "min",
            "mean",
            "geo",
            *[f"route_{t:+g}" for t in thresholds],
            *[f"frames_{t:+g}" for t in self.FRAME_THRESHOLDS],
        )
        self.rate, self.segment_s, self.params, self.model = plain.rate, plain.segment_s, plain.params, {}
        self.segments = []

    def separate(self, x, rate):
        from rtaudio.jobs.separation.base import from_pairs, to_pairs
        from rtaudio.jobs.separation.onnx import spleeter_istft, spleeter_stft
        from rtaudio.jobs.separation.route import singing_db

        p = self.params
        n, channels = x.shape
        results = []
        for pair, stereo in to_pairs(x):
            spec = spleeter_stft(stereo, p["frame_length"], p["frame_step"])
            mp, mf = self.route.plain.masks(spec)[0], self.route.tuned.masks(spec)[0]
            score = singing_db(spec, mp, mf)
            power = np.abs(spec) ** 2
            moved = float(np.sum(power * np.maximum(mp - mf, 0) ** 2)) / max(float(np.sum(power * mp**2)), 1e-20)
            leak = float(np.sum(power * np.maximum(mf - mp, 0) ** 2)) / max(float(np.sum(power * mf**2)), 1e-20)
            self.segments.append({"singing_db": round(score, 3), "moved": round(moved, 4), "leak": round(leak, 4)})
            masks = [mp, mf, np.minimum(mp, mf), 0.5 * (mp + mf), np.sqrt(mp * mf)]
            masks += [mf if score >= t else mp for t in self.thresholds]
            # per frame: the same ratio over the 43 frames (1 s) around each frame, the choice smoothed over 5 frames
            k = np.ones(43)
            a = np.convolve((power * mp**2).sum(axis=(1, 2)), k, "same")
            b = np.convolve((power * mf**2).sum(axis=(1, 2)), k, "same")
            frame_db = 10 * np.log10((a + 1e-12) / (b + 1e-12))
            for t in self.FRAME_THRESHOLDS:
                w = np.convolve((frame_db >= t).astype(np.float32), np.ones(5) / 5, "same")[:, None, None]
                masks.append(w * mf + (1 - w) * mp)
            y = [spleeter_istft(spec * m, n, p["frame_length"], p["frame_step"]) for m in masks]
            results.append((pair, np.stack(y)))
        return from_pairs(results, len(self.stems), n, channels)

    def close(self):
        pass


def route(args) -> dict:
    """Choose the router on the tuning set (``--speech tune``): SI-SDR improvement of each variant (plain, fine-tune,
    per-bin min / mean / geometric mean of the two vocals masks, per-segment routing at each threshold), and how well
    each per-segment feature tells sung from instrumental music (the label of the mixture)."""
    from rtaudio.jobs.separation import SeparationParams, Separator
    from rtaudio.jobs.separation.onnx import OnnxBackend
    from rtaudio.models.registry import resolve

    if not args.dialogue_model:
        raise SystemExit("route needs --dialogue-model DIR")
    plain = OnnxBackend(resolve("spleeter-2stems-onnx", args.model), threads=args.threads)
    tuned = OnnxBackend(Path(args.dialogue_model[0]), threads=args.threads)
    variants = RouteVariants(plain, tuned, args.thresholds)
    rows = []
    for snr, category, s, m, sp, mix, base in dialogue_mixtures(args.speech, args.levels):
        variants.segments = []
        out = Separator(SeparationParams(backend="onnx"), rate=RATE, channels=1, backend=variants).separate(mix)
        row = {"snr_db": snr, "category": category, "speech": s, "music": m, "segments": variants.segments}
        row.update({v: sisdr(out[v], sp) - base for v in variants.stems})
        row["oracle_label"] = row["tuned"] if category == "sung" else row["plain"]
        rows.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    methods = [*variants.stems, "oracle_label"]
    summary = {}
    for snr in [*args.levels, "all"]:
        for category in ("instrumental", "sung", "all"):
            sel = [r for r in rows if snr in ("all", r["snr_db"]) and category in ("all", r["category"])]
            key = f"{snr:+d} dB {category}" if snr != "all" else f"all levels {category}"
            summary[key] = {"mixtures": len(sel), **{v: round(float(np.mean([r[v] for r in sel])), 2) for v in methods}}
            print(key, json.dumps(summary[key]), flush=True)
    # each feature as a detector of singing, per segment: AUC, and the threshold of best balanced accuracy
    detect = {}
    for feature in ("singing_db", "moved", "leak"):
        sung = np.array([g[feature] for r in rows if r["category"] == "sung" for g in r["segments"]])
        inst = np.array([g[feature] for r in rows if r["category"] == "instrumental" for g in r["segments"]])
        auc = float(np.mean(sung[:, None] > inst[None, :]) + 0.5 * np.mean(sung[:, None] == inst[None, :]))
        cuts = np.unique(np.concatenate([sung, inst]))
        acc = [(0.5 * (np.mean(sung >= c) + np.mean(inst < c)), float(c)) for c in cuts]
        best, cut = max(acc)
        detect[feature] = {
            "auc_sung_above": round(auc, 3),
            "best_balanced_accuracy": round(float(best), 3),
            "at_threshold": round(cut, 3),
            "sung_quartiles": [round(float(q), 3) for q in np.percentile(sung, [25, 50, 75])],
            "instrumental_quartiles": [round(float(q), 3) for q in np.percentile(inst, [25, 50, 75])],
        }
        print(feature, json.dumps(detect[feature]), flush=True)
    return {"speech": args.speech, "summary": summary, "detect": detect, "rows": rows}


def sixty_seconds() -> np.ndarray:
    import soxr

    music = load(MUSIC[0], 44100)[: 60 * 44100]
    speech = np.concatenate([load(f"speech_lid/fleurs-en-00{i}.ogg", 44100) for i in range(5)])
    speech = np.resize(speech, len(music))
    mix = music + speech * np.sqrt(np.mean(music**2) / np.mean(speech**2))
    del soxr
    return np.stack([mix, 0.9 * mix], axis=1).astype(np.float32)


def speed(args) -> dict:
    from rtaudio.dsp.frames import istft, stft

    x = sixty_seconds()
    seconds = len(x) / 44100
    sep = make_separator(args, 44100, 2)
    sep.separate(x[: 5 * 44100])  # warm-up: compile kernels, load the graph
    times, cpu = [], []
    for _ in range(args.repeat):
        sep = make_separator(args, 44100, 2) if args.backend == "dsp" else _reset(sep)
        t, c = time.perf_counter(), time.process_time()
        sep.separate(x)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    ref = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        count = -(-(len(x) + 4096) // 1024) + 1  # the DSP backend's padding
        for ch in range(2):
            istft(stft(x[:, ch], 4096, 1024, pad_start=4096, count=count), 4096, 1024, length=len(x), offset=4096)
        ref.append(time.perf_counter() - t)
    best = min(times)
    out = {
        "backend": args.backend,
        "model": sep.backend.model,
        "audio_s": seconds,
        "wall_s_min": round(best, 3),
        "wall_s_all": [round(t, 3) for t in times],
        "cpu_s_min": round(min(cpu), 3),
        "s_per_s": round(best / seconds, 4),
        "x_realtime": round(seconds / best, 1),
        "reference_stft_istft_s": round(min(ref), 3),
        "load_avg": os.getloadavg(),
    }
    print(json.dumps(out), flush=True)
    return out


def _reset(sep):
    """A fresh job on the same backend (the model session is kept, as in a long job)."""
    from rtaudio.jobs.separation import Separator

    return Separator(sep.params, rate=sep.rate, channels=sep.channels, backend=sep.backend)


def memory(args) -> dict:
    import soundfile as sf

    music = load(MUSIC[0], 44100)
    n = int(args.minutes * 60 * 44100)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        with sf.SoundFile(path, "w", 44100, 2, subtype="PCM_16") as f:
            done = 0
            while done < n:
                block = music[: n - done]
                f.write(np.stack([block, block], axis=1))
                done += len(block)
        decode = (
            "import sys, resource; from rtaudio.sources.av import FileSource; s = FileSource(sys.argv[1]);"
            "[None for b in s.blocks(lambda e: None)];"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        base = int(
            subprocess.run(
                [sys.executable, "-c", decode, str(path)], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        cmd = [
            sys.executable,
            "-c",
            "import sys, resource; from rtaudio.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)",
            "separate",
            str(path),
            "-o",
            str(Path(tmp) / "out"),
            "--backend",
            args.backend,
        ]
        if args.model:
            cmd += ["--model", args.model]
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if r.returncode:
            raise SystemExit(r.stderr)
        peak = int(r.stdout.strip().splitlines()[-1])
    out = {
        "backend": args.backend,
        "minutes": args.minutes,
        "peak_rss_mib": round(peak / 1024, 1),
        "decode_only_peak_rss_mib": round(base / 1024, 1),
        "input_in_memory_would_be_mib": round(n * 2 * 4 / 2**20, 1),
        "wall_s": round(wall, 1),
    }
    print(json.dumps(out), flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["quality", "speed", "memory", "dialogue", "latency", "route"])
    p.add_argument("--backend", default="dsp", choices=["dsp", "spleeter", "onnx"])
    p.add_argument("--model")
    p.add_argument("--frames", type=int)
    p.add_argument("--segment", type=float, help="segment length, s (default: the backend's)")
    p.add_argument("--overlap", type=float, help="cross-fade between segments, s (default: the backend's)")
    p.add_argument("--threads", type=int, help="onnx: onnxruntime threads (1 = one core)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--fresh", action="store_true", help="quality: a new Separator per clip")
    p.add_argument("--json", help="also write the result here")
    p.add_argument(
        "--speech",
        default="corpus",
        choices=["corpus", "lid_train", "tune"],
        help="dialogue: corpus (the report), lid_train (over corpus music), tune (lid_train over Debian music, "
        "sung voices made by models/dialogue/dialogue_data.py: nothing from the corpus)",
    )
    p.add_argument("--dialogue-model", action="append", help="dialogue: a fine-tuned model folder (repeatable)")
    p.add_argument(
        "--levels",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[-5, 0, 5],
        help="dialogue: speech-to-music dB",
    )
    p.add_argument("--quick", action="store_true", help="dialogue: dsp, spleeter and the fine-tuned models only")
    p.add_argument(
        "--route",
        type=float,
        help="dialogue: also route per segment (fine-tune where singing_db >= this dB, else plain spleeter)",
    )
    p.add_argument(
        "--thresholds",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[-2, -1, 0, 0.5, 1, 1.5, 2, 3, 4, 6],
        help="route: the singing_db thresholds to measure",
    )
    args = p.parse_args(argv)
    if not CORPUS.is_dir():
        raise SystemExit(f"corpus not found at {CORPUS} (set RTAUDIO_CORPUS)")
    result = {
        "quality": quality,
        "speed": speed,
        "memory": memory,
        "dialogue": dialogue,
        "latency": latency,
        "route": route,
    }[args.what](args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
