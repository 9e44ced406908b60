"""Soundtrack rendering on the dev corpus: beat phase, spectral discontinuity, clicks, words (issue 8).

Run: ``.venv/bin/python benchmarks/soundtrack_eval.py [--out results.json] [--seeds 3]``

For every file of the corpus' ``music/`` and the talking video in ``video/``, random cut lists
are generated (5-30 cuts per minute; for music the cuts fall on librosa's beats moved by up to
+-200 ms; for the video half of them fall inside words, from the STT stage's word times), and each
is rendered three ways in the same run: the render, the naive concatenation and a plain 50 ms
crossfade (both computed by the renderer itself). Reported:

* beat-phase error at joins, two ways: the renderer's own (its beat tracker's beats of the source
  mapped through the render: the median distance from the outgoing beats to the nearest incoming
  beat, two beats each side of the join) and the same with librosa's beats of the source (an
  independent tracker), using the source offsets the report gives for each join's music;
* spectral discontinuity at joins, as a ratio to the output's own frame-to-frame change at
  non-join points (goal <= 1.5);
* clicks (sample steps / broadband transients the join adds);
* dialogue words cut inside (the talking video): a dialogue switch point (source time) that
  falls more than 20 ms inside a word of the STT stage (pocketsphinx) on the source.

Numbers are "dev corpus" figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

CORPUS = os.environ.get("RTAUDIO_CORPUS") or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus")
MUSIC = [
    "music/Kevin_MacLeod_-_Vibe_Ace.ogg",
    "music/beat-small.wav",
    "music/spleeter-audio_example.mp3",
    "music/doremi.wav",
    "music/sir_duke_slow.ogg",
    "music/snare-accelerate.ogg",
]
VIDEO = ["video/talking-with-pauses.mp4"]


def load(path):
    from rtaudio.jobs.soundtrack.render import decode

    x, rate = decode(path, 0, None)
    return x, rate


def librosa_reference(x, rate):
    """librosa's beat period (s) and beat times of the source."""
    import librosa

    from rtaudio.jobs.soundtrack.features import to_analysis_rate

    y = to_analysis_rate(x, rate)
    tempo, beats = librosa.beat.beat_track(y=y, sr=22050, hop_length=256, units="time")
    tempo = float(np.atleast_1d(tempo)[0])
    return (60.0 / tempo if tempo > 0 else None), beats


def words_of(path):
    """(start, end, word) of every word the STT stage hears in ``path`` (source seconds)."""
    import rtaudio.api as api

    events = api.analyze(path, stages=["vad", "stt"])
    rate = next(e.rate for e in events if e.TYPE == "source")
    out = []
    for e in events:
        if e.TYPE == "transcript":
            out += [(w.start / rate, w.end / rate, w.word) for w in e.words]
    return out


def random_cuts(rng, duration, anchors=None, min_keep=1.2, min_drop=0.4):
    """Kept segments: 5-30 cuts per minute; boundaries near ``anchors`` (+-200 ms) when given."""
    per_min = rng.uniform(5, 30)
    n_cuts = max(2, int(round(per_min * duration / 60)))
    for _ in range(200):
        if anchors is not None and len(anchors) > 2 * n_cuts:
            pts = np.sort(rng.choice(anchors, 2 * n_cuts, replace=False) + rng.uniform(-0.2, 0.2, 2 * n_cuts))
        else:
            pts = np.sort(rng.uniform(0.2, duration - 0.2, 2 * n_cuts))
        segs = (
            [(0.0, pts[0])]
            + [(pts[2 * i + 1], pts[2 * i + 2]) for i in range(n_cuts - 1)]
            + [(pts[-1], duration - 0.05)]
        )
        gaps_ok = all(pts[2 * i + 1] - pts[2 * i] >= min_drop for i in range(n_cuts))
        if gaps_ok and all(b - a >= min_keep for a, b in segs):
            return segs
        n_cuts = max(2, n_cuts - 1)
    return [(0.0, duration / 3), (2 * duration / 3, duration - 0.05)]


def beat_error(beats, off_a, off_b, centre, period):
    """Median distance (ms) from the outgoing beats to the nearest incoming beat, two beats each side of
    ``centre``, with librosa's beats of the source mapped through the render (see plan.beat_alignment)."""
    from rtaudio.jobs.soundtrack.plan import beat_alignment

    if period is None or off_a is None:
        return None
    return beat_alignment(np.asarray(beats), off_a, off_b, centre - 2 * period, centre + 2 * period)


def evaluate(args):
    from rtaudio.jobs.soundtrack import render_soundtrack

    rng = np.random.default_rng(args.seed)
    rows = []
    tmp = tempfile.mkdtemp(prefix="st-eval-")
    for rel in MUSIC + VIDEO:
        if args.only and args.only not in rel:
            continue
        path = os.path.join(CORPUS, rel)
        if not os.path.exists(path):
            print(f"skip {rel}: not in the corpus", file=sys.stderr)
            continue
        x, rate = load(path)
        duration = len(x) / rate
        period, lbeats = librosa_reference(x, rate)
        words = words_of(path) if rel in VIDEO else []
        anchors = (
            lbeats
            if rel in MUSIC
            else np.array([(a + b) / 2 for a, b, _ in words] + list(rng.uniform(0, duration, len(words))))
        )
        for seed in range(args.seeds):
            segs = random_cuts(rng, duration, anchors)
            cuts = os.path.join(tmp, f"cuts-{len(rows)}.csv")
            with open(cuts, "w") as f:
                f.write("start,end\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in segs))
            out = os.path.join(tmp, f"out-{len(rows)}.wav")
            t0 = time.perf_counter()
            r = render_soundtrack(
                path,
                cuts,
                out,
                separation=args.separation,
                cache_dir=os.path.join(tmp, "cache"),
                words=args.words and rel in VIDEO,
            )
            elapsed = time.perf_counter() - t0
            cut_joins = [j for j in r["joins"] if j["kind"] == "cut"]
            for j, base, xf in zip(
                cut_joins, r["baselines"]["naive"]["joins"], r["baselines"]["crossfade"]["joins"], strict=True
            ):
                k = j["index"] - 1
                offs = j["music_offsets_s"] or [None, None]
                centre = (j["region"][0] + j["region"][1]) / 2
                t = base["output_time"]
                row = {
                    "file": rel,
                    "seed": seed,
                    "join": j["index"],
                    "rule": j["rule"],
                    "beat_ms": j["beat_phase_error_ms"],
                    "beat_ms_naive": base["beat_phase_error_ms"],
                    "beat_ms_indep": beat_error(lbeats, offs[0], offs[1], centre, period) if rel in MUSIC else None,
                    "beat_ms_indep_naive": beat_error(lbeats, segs[k][1] - t, segs[k + 1][0] - t, t, period)
                    if rel in MUSIC
                    else None,
                    "spectral": j["spectral_discontinuity"],
                    "spectral_naive": base["spectral_discontinuity"],
                    "spectral_xfade": xf["spectral_discontinuity"],
                    "click": j["click"],
                    "click_naive": base["click"],
                    "click_xfade": xf["click"],
                    "needs_review": j["needs_review"],
                    "reasons": j["reasons"],
                    "render_s": elapsed,
                }
                if words:
                    a = (j["snap_dialogue_ms"] or 0.0) / 1000
                    b = a if j["snap_dialogue_in_ms"] is None else j["snap_dialogue_in_ms"] / 1000
                    out_pt, in_pt = segs[k][1] + a, segs[k + 1][0] + b
                    inside = lambda t, words=words: any(ws + 0.02 < t < we - 0.02 for ws, we, _ in words)  # noqa: E731
                    row["word_cut"] = inside(out_pt) or inside(in_pt)
                    row["word_cut_naive"] = inside(segs[k][1]) or inside(segs[k + 1][0])
                rows.append(row)
            print(
                f"{rel} seed {seed}: {len(segs)} segments, {elapsed:.1f} s, "
                f"review {r['summary']['needs_review']}/{len(cut_joins)}",
                file=sys.stderr,
            )
    return rows


def summary(rows):
    def med(key, where=lambda r: True):
        v = [r[key] for r in rows if where(r) and r.get(key) is not None]
        return (round(float(np.median(v)), 1), len(v)) if v else (None, 0)

    music = lambda r: r["file"].startswith("music/")  # noqa: E731
    video = lambda r: r["file"].startswith("video/")  # noqa: E731
    out = {
        "joins": len(rows),
        "music_beat_phase_ms_render": med("beat_ms", music),
        "music_beat_phase_ms_naive": med("beat_ms_naive", music),
        "music_beat_phase_ms_independent_render": med("beat_ms_indep", music),
        "music_beat_phase_ms_independent_naive": med("beat_ms_indep_naive", music),
        "spectral_median_render": med("spectral"),
        "spectral_median_naive": med("spectral_naive"),
        "spectral_median_crossfade": med("spectral_xfade"),
        "spectral_share_le_1.5_render": round(
            np.mean([r["spectral"] <= 1.5 for r in rows if r["spectral"] is not None]), 3
        ),
        "spectral_share_le_1.5_naive": round(
            np.mean([r["spectral_naive"] <= 1.5 for r in rows if r["spectral_naive"] is not None]), 3
        ),
        "clicks_render": sum(r["click"] for r in rows),
        "clicks_naive": sum(r["click_naive"] for r in rows),
        "clicks_crossfade": sum(r["click_xfade"] for r in rows),
        "needs_review": sum(r["needs_review"] for r in rows),
        "review_reasons": {
            key: sum(any(reason.startswith(key) for reason in r["reasons"]) for r in rows)
            for key in (
                "click",
                "spectral jump",
                "beats",
                "loudness steps",
                "beat phase cannot",
                "no speech pause",
                "no pause or word",
                "dialogue cut inside",
            )
        },
    }
    vid = [r for r in rows if video(r)]
    if vid:
        out["video_joins"] = len(vid)
        out["video_word_cuts_render"] = sum(r["word_cut"] for r in vid)
        out["video_word_cuts_naive"] = sum(r["word_cut_naive"] for r in vid)
    per_file = {}
    for r in rows:
        per_file.setdefault(r["file"], []).append(r)
    out["per_file"] = {
        f: {
            "joins": len(rs),
            "beat_ms": med("beat_ms", lambda r, f=f: r["file"] == f),
            "beat_ms_naive": med("beat_ms_naive", lambda r, f=f: r["file"] == f),
            "beat_ms_indep": med("beat_ms_indep", lambda r, f=f: r["file"] == f),
            "beat_ms_indep_naive": med("beat_ms_indep_naive", lambda r, f=f: r["file"] == f),
            "spectral": med("spectral", lambda r, f=f: r["file"] == f),
            "clicks": sum(r["click"] for r in rs),
        }
        for f, rs in per_file.items()
    }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3, help="cut lists per file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--separation", default="auto")
    p.add_argument("--out", help="write rows and summary as JSON")
    p.add_argument("--words", action="store_true", help="snap dialogue to word boundaries too (SoundtrackParams.words)")
    p.add_argument("--only", help="evaluate only files whose path contains this")
    args = p.parse_args()
    rows = evaluate(args)
    s = summary(rows)
    print(json.dumps(s, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": s, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
