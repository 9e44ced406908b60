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
  independent tracker), using the source offsets the report gives for each join's music; and the
  same with annotated beats (:data:`TRUTH`, three files; librosa is off on snare-accelerate's ramp);
* spectral discontinuity at joins, as a ratio to the output's own frame-to-frame change at
  non-join points (goal <= 1.5);
* clicks (sample steps / broadband transients the join adds);
* dialogue words cut inside (the talking video): a dialogue switch point (source time) that
  falls more than 20 ms inside a word of the STT stage (pocketsphinx) on the source.

Numbers are "dev corpus" figures.

``--dialogue corpus|train``: connected speech with music under it instead (issue 15): speech clips
joined with 0.15 s gaps (``corpus``: the dev corpus' ``speech_asr`` and English ``speech_lid`` clips
over its instrumental and sung music; ``train``: ``../shared/lid_train`` English clips over
``rtaudio.testing.beat_and_chords``, the set thresholds are tuned on), music ``--snr`` dB under the
speech (RMS), cuts half at the middle of a word. Word truth: the STT stage (Whisper where its model is
found) on the clean speech; a join "cuts a word" when a dialogue switch falls more than 20 ms inside
a true word. A flag is "right" when its join cuts a word or clicks. A second, acoustic check
(``word_cuts_voiced``): of those cuts, the ones where the clean speech also sounds at the switch (its
10 ms level within 15 dB of the 300 ms around it), i.e. not in a dip between words that Whisper's
times on the clean speech miss.
``--dialogue-reach MS`` sets ``SoundtrackParams.dialogue_reach_ms``; the summary lists how deep (ms)
each unflagged word cut is inside its truth word.
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


SPEECH_CORPUS = [
    "speech_asr/jfk.flac",
    "speech_asr/librispeech-1995-1837-0001.wav",
    "speech_asr/spk1_snt1.wav",
    "speech_asr/spk1_snt2.wav",
    "speech_asr/spk1_snt3.wav",
    "speech_lid/fleurs-en-000.ogg",
    "speech_lid/fleurs-en-001.ogg",
    "speech_lid/fleurs-en-002.ogg",
]
MUSIC_UNDER = {"instrumental": "music/Kevin_MacLeod_-_Vibe_Ace.ogg", "sung": "music/spleeter-audio_example.mp3"}
LID_TRAIN = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "lid_train")
DIALOGUE_RATE = 44100


def speech_over_music(kind, music, snr_db, seed, length_s=50.0):
    """(mix (n, 1) float32, clean speech (n,), name) at DIALOGUE_RATE: clips joined with 0.15 s gaps up to
    ``length_s`` seconds, ``music`` (a corpus file, or ``synth`` for beat_and_chords) ``snr_db`` under."""
    import glob

    from rtaudio.testing import beat_and_chords

    rng = np.random.default_rng(seed)
    if kind == "corpus":
        files = [os.path.join(CORPUS, rel) for rel in SPEECH_CORPUS]
    else:
        files = sorted(glob.glob(os.path.join(LID_TRAIN, "en", "*.ogg")))
    files = list(rng.permutation(files))
    parts, n = [], 0
    gap = np.zeros(int(0.15 * DIALOGUE_RATE), np.float32)
    for f in files:
        if n >= length_s * DIALOGUE_RATE:
            break
        x, rate = load_at(f, DIALOGUE_RATE)
        x = x.mean(axis=1)
        x = x / (np.sqrt(np.mean(x**2)) + 1e-9) * 0.05
        parts += [x, gap]
        n += len(x) + len(gap)
    speech = np.concatenate(parts).astype(np.float32)
    if music == "synth":
        m = beat_and_chords(
            len(speech) / DIALOGUE_RATE + 0.1, DIALOGUE_RATE, bpm=float(rng.uniform(90, 140)), seed=seed
        )
    else:
        m, _ = load_at(os.path.join(CORPUS, music), DIALOGUE_RATE)
        m = m.mean(axis=1)
        m = np.tile(m, int(np.ceil(len(speech) / len(m))))
    m = m[: len(speech)]
    rms_s = np.sqrt(np.mean(speech[np.abs(speech) > 1e-4] ** 2))
    m = m / (np.sqrt(np.mean(m**2)) + 1e-9) * rms_s * 10 ** (-snr_db / 20)
    mix = (speech + m).astype(np.float32)
    mix /= max(1.0, float(np.max(np.abs(mix))) / 0.9)
    return mix[:, None], speech


def load_at(path, rate):
    from rtaudio.jobs.soundtrack.steps import decode

    return decode(path, 0, rate)


def evaluate_dialogue(args):
    """Rows of ``--dialogue``: per join, word cuts against the clean speech's words and the flags."""
    import soundfile as sf

    from rtaudio.jobs.soundtrack import render_soundtrack
    from rtaudio.jobs.soundtrack.speech import detect_words

    rows, truth = [], {}
    tmp = args.work or tempfile.mkdtemp(prefix="st-dialogue-")
    os.makedirs(tmp, exist_ok=True)
    musics = {"synth": "synth"} if args.dialogue == "train" else MUSIC_UNDER
    for label, music in musics.items():
        for mix_seed in range(args.mixes):
            path = os.path.join(tmp, f"{label}-{mix_seed}.wav")
            known = path[:-4] + "-truth.json"
            if os.path.exists(known):  # --work: the same mixture, its render cache and truth words again
                with open(known) as f:
                    saved = json.load(f)
                if saved["setting"] != [args.dialogue, args.snr]:
                    raise SystemExit(f"--work {tmp!r} holds --dialogue/--snr {saved['setting']}: use another folder")
                words, engine = np.array(saved["words"]).reshape(-1, 2), saved["engine"]
                speech = sf.read(path[:-4] + "-clean.wav", dtype="float32")[0]
            else:
                mix, speech = speech_over_music(args.dialogue, music, args.snr, mix_seed)
                words, engine = detect_words(speech, DIALOGUE_RATE, with_engine=True)
                sf.write(path, mix, DIALOGUE_RATE, subtype="FLOAT")
                sf.write(path[:-4] + "-clean.wav", speech, DIALOGUE_RATE, subtype="FLOAT")
                with open(known, "w") as f:
                    json.dump({"words": words.tolist(), "engine": engine, "setting": [args.dialogue, args.snr]}, f)
            truth[f"{args.dialogue}:{label}:{mix_seed}"] = words.round(3).tolist()
            duration = len(speech) / DIALOGUE_RATE
            rng = np.random.default_rng(1000 + mix_seed)
            mids = (words[:, 0] + words[:, 1]) / 2
            anchors = np.concatenate([mids, rng.uniform(0, duration, len(mids))])
            for seed in range(args.seeds):
                segs = fixed_cuts(rng, duration, anchors, args.cuts)
                cuts = os.path.join(tmp, f"cuts-{label}-{mix_seed}-{seed}.csv")
                with open(cuts, "w") as f:
                    f.write("start,end\n" + "".join(f"{a:.4f},{b:.4f}\n" for a, b in segs))
                for refine in args.word_refine_ms:
                    r = render_soundtrack(
                        path,
                        cuts,
                        os.path.join(tmp, "out.wav"),
                        report=os.path.join(tmp, f"report-{label}-{mix_seed}-{seed}-{refine}.json"),
                        word_refine_ms=refine,
                        separation=args.separation,
                        cache_dir=os.path.join(tmp, "cache"),
                        words=args.words,
                        **({"word_hearings": args.word_hearings} if args.word_hearings else {}),
                        **({"dialogue_reach_ms": args.dialogue_reach} if args.dialogue_reach is not None else {}),
                        **({"review_spectral": args.review_spectral} if args.review_spectral else {}),
                        **({"review_loudness_db": args.review_loudness} if args.review_loudness else {}),
                    )

                    def inside(t, words=words):
                        return bool(np.any((words[:, 0] + 0.02 < t) & (t < words[:, 1] - 0.02)))

                    def depth_ms(t, words=words):
                        d = np.minimum(t - words[:, 0], words[:, 1] - t)
                        return round(1000 * max(0.0, float(d.max(initial=0.0))), 1)

                    def voiced(t, x=speech):
                        """The clean speech sounds at ``t``: its 10 ms level within 15 dB of the 300 ms around."""
                        i = int(t * DIALOGUE_RATE)
                        near = x[max(0, i - 220) : i + 221]
                        around = x[max(0, i - 6615) : i + 6616]
                        rms = lambda v: float(np.sqrt(np.mean(np.square(v, dtype=np.float64)))) if len(v) else 0.0  # noqa: E731
                        return rms(near) > max(1e-4, rms(around) * 10 ** (-15 / 20))

                    cut_joins = [j for j in r["joins"] if j["kind"] == "cut"]
                    for j in cut_joins:
                        k = j["index"] - 1
                        a = (j["snap_dialogue_ms"] or 0.0) / 1000
                        b = a if j["snap_dialogue_in_ms"] is None else j["snap_dialogue_in_ms"] / 1000
                        word_cut = inside(segs[k][1] + a) or inside(segs[k + 1][0] + b)
                        rows.append(
                            {
                                "file": f"{args.dialogue}:{label}:{mix_seed}",
                                "seed": seed,
                                "word_refine_ms": refine,
                                "join": j["index"],
                                "word_cut": word_cut,
                                "word_cut_naive": inside(segs[k][1]) or inside(segs[k + 1][0]),
                                "word_cut_voiced": (inside(segs[k][1] + a) and voiced(segs[k][1] + a))
                                or (inside(segs[k + 1][0] + b) and voiced(segs[k + 1][0] + b)),
                                "depth_ms": max(depth_ms(segs[k][1] + a), depth_ms(segs[k + 1][0] + b)),
                                "switch_s": [round(segs[k][1] + a, 4), round(segs[k + 1][0] + b, 4)],
                                "click": j["click"],
                                "needs_review": j["needs_review"],
                                "reasons": j["reasons"],
                                "spectral": j["spectral_discontinuity"],
                                "loudness_step_db": j["loudness_step_db"],
                                "truth_engine": engine,
                                "words_engine": r["analysis"].get("words_engine"),
                                "separation": r["stems"].get("backend"),
                            }
                        )
                    print(
                        f"{label} mix {mix_seed} seed {seed}: {len(cut_joins)} joins, word cuts "
                        f"{sum(x['word_cut'] for x in rows[-len(cut_joins) :])}, review {r['summary']['needs_review']}",
                        file=sys.stderr,
                    )
    evaluate_dialogue.truth = truth
    return rows


def fixed_cuts(rng, duration, anchors, n_cuts, spacing=1.2):
    """Kept segments with ``n_cuts`` joins, boundaries at ``anchors`` +-200 ms at least ``spacing`` s apart."""
    for _ in range(50):
        pts = []
        for t in rng.permutation(anchors) + rng.uniform(-0.2, 0.2, len(anchors)):
            if spacing <= t <= duration - spacing and all(abs(t - p) >= spacing for p in pts):
                pts.append(float(t))
            if len(pts) == 2 * n_cuts:
                pts = sorted(pts)
                return (
                    [(0.0, pts[0])]
                    + [(pts[2 * i + 1], pts[2 * i + 2]) for i in range(n_cuts - 1)]
                    + [(pts[-1], duration - 0.05)]
                )
    raise RuntimeError(f"no cut list with {n_cuts} cuts fits {duration:.1f} s")


def dialogue_summary(rows):
    """Word cuts, flags, and how often a flag is right (precision) / a bad join is flagged (recall), per file."""

    def stats(rs):
        bad = [r["word_cut"] or r["click"] for r in rs]
        flag = [r["needs_review"] for r in rs]
        tp = sum(b and f for b, f in zip(bad, flag, strict=True))
        return {
            "joins": len(rs),
            "word_cuts": sum(r["word_cut"] for r in rs),
            "word_cuts_naive": sum(r["word_cut_naive"] for r in rs),
            "word_cuts_unflagged": sum(r["word_cut"] and not r["needs_review"] for r in rs),
            "word_cuts_voiced": sum(r.get("word_cut_voiced", False) for r in rs),
            "word_cuts_voiced_unflagged": sum(r.get("word_cut_voiced", False) and not r["needs_review"] for r in rs),
            "clicks": sum(r["click"] for r in rs),
            "flagged": sum(flag),
            "flag_precision": round(tp / sum(flag), 3) if sum(flag) else None,
            "flag_recall": round(tp / sum(bad), 3) if sum(bad) else None,
            "reasons": {
                key: sum(any(x.startswith(key) for x in r["reasons"]) for r in rs)
                for key in (
                    "click",
                    "spectral jump",
                    "loudness steps",
                    "beats",
                    "no ",
                    "cuts a word",
                    "far switch",
                    "dialogue cut inside",
                )
            },
            "unflagged_depths_ms": sorted(r["depth_ms"] for r in rs if r["word_cut"] and not r["needs_review"]),
        }

    files = {}
    for r in rows:
        files.setdefault(f"{r['file']} refine {r['word_refine_ms']:g} ms", []).append(r)
    out = stats(rows)
    out["engines"] = sorted({f"{r['words_engine']} (truth {r['truth_engine']}), {r['separation']}" for r in rows})
    out["per_file"] = {f: stats(rs) for f, rs in files.items()}
    variants = sorted({r["word_refine_ms"] for r in rows})
    out["per_refine"] = {f"{v:g} ms": stats([r for r in rows if r["word_refine_ms"] == v]) for v in variants}
    return out


def tune(rows, spectral=(1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 1e9), loudness=(6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 1e9)):
    """Flags again with other review thresholds (spectral jump, loudness step), from the rows' metrics:
    per pair the share of joins flagged, precision and recall (a flag is right on a word cut or a click)."""
    out = []
    for ts in spectral:
        for tl in loudness:
            flag, right, bad = 0, 0, 0
            for r in rows:
                other = [x for x in r["reasons"] if not x.startswith(("spectral jump", "loudness steps"))]
                f = bool(other) or (r["spectral"] or 0) > ts or abs(r["loudness_step_db"] or 0) > tl
                b = r["word_cut"] or r["click"]
                flag, right, bad = flag + f, right + (f and b), bad + b
            out.append(
                {
                    "review_spectral": ts,
                    "review_loudness_db": tl,
                    "flagged_share": round(flag / max(1, len(rows)), 3),
                    "precision": round(right / flag, 3) if flag else None,
                    "recall": round(right / bad, 3) if bad else None,
                }
            )
    return out


def load(path):
    from rtaudio.jobs.soundtrack.steps import decode

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


#: Annotated beats (s) of corpus music, as in ``keys_eval.py``: beat-small's and Vibe Ace's grids (checked
#: against their onsets there); snare-accelerate's beats are its snare hits (librosa onsets, hop 64).
TRUTH = {
    "music/beat-small.wav": lambda x, rate: 0.476 + np.arange(25) * 60 / 119.82,
    "music/Kevin_MacLeod_-_Vibe_Ace.ogg": lambda x, rate: np.arange(0.0348, 59.5, 60 / 129.98),
    "music/snare-accelerate.ogg": lambda x, rate: __import__("librosa").onset.onset_detect(
        y=np.asarray(x, np.float32).mean(axis=1) if np.ndim(x) > 1 else np.asarray(x, np.float32),
        sr=rate,
        units="time",
        hop_length=64,
        backtrack=False,
    ),
}


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
        truth = TRUTH[rel](x, rate) if rel in TRUTH else None
        truth = truth[truth < duration] if truth is not None else None
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
                    "beat_ms_truth": beat_error(truth, offs[0], offs[1], centre, period) if truth is not None else None,
                    "beat_ms_truth_naive": beat_error(truth, segs[k][1] - t, segs[k + 1][0] - t, t, period)
                    if truth is not None
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
        "music_beat_phase_ms_truth_render": med("beat_ms_truth", music),
        "music_beat_phase_ms_truth_naive": med("beat_ms_truth_naive", music),
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
            "beat_ms_truth": med("beat_ms_truth", lambda r, f=f: r["file"] == f),
            "beat_ms_truth_naive": med("beat_ms_truth_naive", lambda r, f=f: r["file"] == f),
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
    p.add_argument("--dialogue", choices=("corpus", "train"), help="connected speech over music (see above)")
    p.add_argument("--mixes", type=int, default=2, help="--dialogue: mixtures per music")
    p.add_argument("--cuts", type=int, default=13, help="--dialogue: cuts per cut list")
    p.add_argument("--snr", type=float, default=6.0, help="--dialogue: speech over music, dB (RMS)")
    p.add_argument("--word-hearings", type=int, choices=(1, 2), help="--dialogue: SoundtrackParams.word_hearings")
    p.add_argument("--dialogue-reach", type=float, help="--dialogue: SoundtrackParams.dialogue_reach_ms")
    p.add_argument("--review-spectral", type=float, help="SoundtrackParams.review_spectral (tuning)")
    p.add_argument("--review-loudness", type=float, help="SoundtrackParams.review_loudness_db (tuning)")
    p.add_argument(
        "--word-refine-ms", type=float, nargs="+", default=[0.0], help="--dialogue: SoundtrackParams.word_refine_ms"
    )
    p.add_argument(
        "--work",
        help="--dialogue: keep mixtures, truth words and the render cache in this folder (re-runs re-plan only)",
    )
    p.add_argument("--tune", help="a --dialogue --out JSON: flags again over a grid of review thresholds")
    args = p.parse_args()
    if args.tune:
        with open(args.tune) as f:
            for row in tune(json.load(f)["rows"]):
                print(json.dumps(row))
        return
    rows = evaluate_dialogue(args) if args.dialogue else evaluate(args)
    s = dialogue_summary(rows) if args.dialogue else summary(rows)
    print(json.dumps(s, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                {"summary": s, "rows": rows, "truth_words": getattr(evaluate_dialogue, "truth", None)}, f, indent=1
            )


if __name__ == "__main__":
    main()
