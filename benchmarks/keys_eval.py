"""Accuracy of the key-moment stages, side by side with librosa in the same run.

    .venv/bin/python benchmarks/keys_eval.py            # everything (about a minute)
    .venv/bin/python benchmarks/keys_eval.py --quick    # synthetic signals only
    .venv/bin/python benchmarks/keys_eval.py --lock     # click tracks 60-200 BPM and changes: lock-in (issue 14)
    .venv/bin/python benchmarks/keys_eval.py --forward-backward   # an offline sketch, measured (not used)
    .venv/bin/python benchmarks/keys_eval.py --synth    # the same on synthesized music only
    .venv/bin/python benchmarks/keys_eval.py --offline  # the offline beats (markers, report) on click tracks and music

Beat F-measure (mir_eval, +-70 ms) of the ``beats`` stage (causal, run through the
engine at the file's own rate) against ``librosa.beat.beat_track`` called two ways:
its documented default (``beat_track(y=...)``, which aggregates the onset strength
with a median) and with the mean-aggregated ``onset_strength`` (librosa's own
``onset_strength`` default; better on this corpus).  "trimmed" is the standard
protocol (``mir_eval.beat.evaluate`` drops the first 5 s of both lists); "all" keeps them.

References ("beats you can verify"):

* synthetic click tracks and ``rtaudio.testing.beat_and_chords``: the beats they were made with;
* ``music/beat-small.wav``: a 119.82 BPM grid fitted to its onsets; all 19 grid points have an
  onset within 30 ms (median 3.8 ms) - printed by this script as a check;
* ``music/Kevin_MacLeod_-_Vibe_Ace.ogg``: a 129.98 BPM grid fitted the same way, to 59.5 s
  (beats 1, 2 and 4 of every bar carry an onset within 30 ms; beat 3 is often syncopated);
* ``music/snare-accelerate.ogg``: its snare hits (librosa onsets at hop 64); they follow
  ``30 * 2**(t / 10)`` BPM with 0.27 % RMS deviation of the log intervals - printed as a check.

Tempo error on the accelerating snare: every ``Tempo`` event at ``t`` against that curve.
Onset F-measure (mir_eval, +-50 ms) of the ``onsets`` stage and ``librosa.onset.onset_detect``
on signals with known onsets, and the agreement of the two on real music.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rtaudio, not an installed one
warnings.filterwarnings("ignore")
CORPUS = Path(os.environ.get("RTAUDIO_CORPUS") or Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus")


def decode(path: str, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples of ``path`` through PyAV (the project's decoder), at ``rate`` or the file's rate."""
    import av

    with av.open(path) as c:
        st = c.streams.audio[0]
        rate = rate or st.rate
        rs = av.AudioResampler(format="flt", layout="mono", rate=rate)
        out = [g.to_ndarray().reshape(-1) for fr in c.decode(st) for g in rs.resample(fr)]
        out += [g.to_ndarray().reshape(-1) for g in rs.resample(None)]
    return np.concatenate(out).astype(np.float32), rate


def ours(x: np.ndarray, rate: int, mode: str = "online"):
    from rtaudio.api import analyze
    from rtaudio.events import KeyMoment, Tempo

    events = analyze(x, rate=rate, stages=["onsets", "beats"], config={"beats": {"mode": mode}})
    beats = np.array([e.t / rate for e in events if isinstance(e, KeyMoment) and e.kind == "beat"])
    onsets = np.array([e.t / rate for e in events if isinstance(e, KeyMoment) and e.kind == "onset"])
    tempi = [(e.t / rate, e.bpm) for e in events if isinstance(e, Tempo)]
    return np.sort(beats), np.sort(onsets), tempi


def librosa_beats(x: np.ndarray, rate: int):
    import librosa

    y = librosa.resample(x, orig_sr=rate, target_sr=22050) if rate != 22050 else x
    _, b_default = librosa.beat.beat_track(y=y, sr=22050, units="time")
    env = librosa.onset.onset_strength(y=y, sr=22050)
    tempo, b_mean = librosa.beat.beat_track(onset_envelope=env, sr=22050, units="time")
    onsets = librosa.onset.onset_detect(y=y, sr=22050, units="time")
    return b_default, b_mean, float(np.atleast_1d(tempo)[0]), onsets


def f_beats(ref, est, trim=True):
    import mir_eval

    if trim:
        ref, est = mir_eval.beat.trim_beats(np.asarray(ref)), mir_eval.beat.trim_beats(np.asarray(est))
    return mir_eval.beat.f_measure(np.asarray(ref), np.asarray(est))


def f_onsets(ref, est):
    import mir_eval

    if len(ref) == 0 or len(est) == 0:
        return 0.0
    return mir_eval.onset.f_measure(np.asarray(ref), np.asarray(est), window=0.05)[0]


def grid_check(x, rate, bpm, phase, end):
    """How many grid points have an onset within 30 ms, and the median distance (verifies a grid reference)."""
    import librosa

    y = librosa.resample(x, orig_sr=rate, target_sr=22050)
    env = librosa.onset.onset_strength(y=y, sr=22050, hop_length=64)
    ons = librosa.onset.onset_detect(onset_envelope=env, sr=22050, hop_length=64, units="time")
    grid = np.arange(phase, end, 60.0 / bpm)
    res = np.array([np.min(np.abs(ons - g)) for g in grid])
    return int((res < 0.03).sum()), len(grid), float(np.median(res[res < 0.03]) * 1000)


def signals(quick: bool):
    from rtaudio.testing import beat_and_chords, clicks

    rate = 22050
    for bpm in (60, 90, 120, 150, 200):
        t = np.arange(0.3, 30.0, 60.0 / bpm)
        yield f"clicks {bpm} BPM", clicks(t, 30.0, rate), rate, t, t
    a = np.arange(0.3, 15.0, 0.5)
    t = np.concatenate([a, np.arange(a[-1] + 0.4, 30.0, 0.4)])
    yield "clicks 120->150 BPM", clicks(t, 30.0, rate), rate, t, t
    k = np.log(3.0) / 30.0
    t = np.log(1 + k * np.arange(400)) / k
    t = t[t < 29.5] + 0.3
    yield "clicks 60->180 BPM (exp.)", clicks(t, 30.0, rate), rate, t, t
    x = beat_and_chords(30.0, rate, bpm=120)
    beats = np.arange(0.0, 30.0, 0.5)
    onsets = np.sort(np.concatenate([beats, beats + 0.25]))
    yield "beat_and_chords 120 BPM", x, rate, beats, onsets
    if quick or not CORPUS.is_dir():
        return
    x, r = decode(str(CORPUS / "music/beat-small.wav"))
    grid = 0.476 + np.arange(25) * 60 / 119.82
    yield "beat-small.wav", x, r, grid[grid < len(x) / r], None
    x, r = decode(str(CORPUS / "music/snare-accelerate.ogg"))
    yield "snare-accelerate.ogg", x, r, snare_reference(x, r), snare_reference(x, r)
    x, r = decode(str(CORPUS / "music/Kevin_MacLeod_-_Vibe_Ace.ogg"))
    yield "Vibe_Ace.ogg", x, r, np.arange(0.0348, 59.5, 60 / 129.98), None


_SNARE = {}


def snare_reference(x, rate):
    if "t" not in _SNARE:
        import librosa

        _SNARE["t"] = librosa.onset.onset_detect(y=x, sr=rate, units="time", hop_length=64, backtrack=False)
    return _SNARE["t"]


# -- lock-in on click tracks (issue 14) ------------------------------------------------------------
LOCK_TEMPI = (60, 80, 100, 128, 150, 200)
LOCK_TOL = 0.035  # s: a beat this close to a click counts as locked


def click_track(parts: list[tuple[float, float]], start: float = 0.3) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Click times (s) for ``parts`` = [(bpm, seconds), ...] played one after the other, and each part's span (s)."""
    times, spans, t, end = [], [], start, 0.0
    for bpm, seconds in parts:
        spans.append((end, end + seconds))
        end += seconds
        while t < end - 1e-9:
            times.append(t)
            t += 60.0 / bpm
    return np.array(times), spans


def lock_in(ref: np.ndarray, est: np.ndarray, spans, tol: float = LOCK_TOL) -> list[int | None]:
    """Per part: how many of its clicks pass before the beats lock (None: never).

    Locked from click k of a part on: every later click of the part has a beat within ``tol`` and
    no beat of the part lies further than ``tol`` from a click. A part's beats are those after
    the previous part's last click (plus ``tol``) up to its own last click (plus ``tol``), so a
    beat the tracker still places on the old grid after a change counts against the new part.
    """
    out, prev_last = [], None
    for a, b in spans:
        r = ref[(ref >= a - 1e-9) & (ref < b - 1e-9)]
        lo = -np.inf if prev_last is None else prev_last + tol
        prev_last = r[-1]
        e = est[(est > lo) & (est <= r[-1] + tol)]
        hit = [bool(len(e)) and np.min(np.abs(e - c)) < tol for c in r]
        stray = [v for v in e if np.min(np.abs(r - v)) >= tol]
        k_lock = None
        for k in range(len(r)):
            if all(hit[k:]) and not any(v >= r[k] - tol for v in stray):
                k_lock = k
                break
        out.append(k_lock)
    return out


def lock_tracks():
    """Steady click tracks at each of LOCK_TEMPI and every change between two of them (12 s each)."""
    for a in LOCK_TEMPI:
        for b in LOCK_TEMPI:
            parts = [(a, 12.0)] if a == b else [(a, 12.0), (b, 12.0)]
            yield (f"{a} BPM" if a == b else f"{a} -> {b} BPM"), parts
    yield "96 -> 128 BPM (the issue's)", [(96, 12.0), (128, 12.0)]


def print_lock() -> int:
    """Beat F (mir_eval, +-70 ms, all beats) and lock-in per click track: the causal stage, librosa."""
    from rtaudio.testing import clicks

    rate = 22050
    print("| track | ours F | lock-in at start / after the change (clicks) | librosa F |")
    print("|---|---|---|---|")
    met, n, fs = 0, 0, []
    for name, parts in lock_tracks():
        ref, spans = click_track(parts)
        x = clicks(ref, spans[-1][1], rate)
        b, _, _ = ours(x, rate)
        _, lb_mean, _, _ = librosa_beats(x, rate)
        f = f_beats(ref, b, False)
        locks = lock_in(ref, b, spans)
        ok = f >= 0.90 and all(k is not None and k <= 4 for k in locks)
        if not name.endswith("(the issue's)"):
            met, n = met + ok, n + 1
            fs.append(f)
        cells = " / ".join("never" if k is None else str(k) for k in locks)
        print(
            f"| {name} | {f:.3f} | {cells}{'' if ok else ' (goal missed)'} | {f_beats(ref, lb_mean, False):.3f} |",
            flush=True,
        )
    print(f"\ngoal (F >= 0.90 and lock-in within 4 clicks of the start and of each change) met on {met} of {n} tracks;")
    print(f"beat F: min {min(fs):.3f}, median {float(np.median(fs)):.3f}")
    return 0


# -- offline sketch: the causal tracker forwards and backwards (measured, not used by rtaudio) ---------
def odf_frames(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(time (s) of each ODF frame as the beats stage reports it, ODF value, frames per second) of ``x``."""
    import soxr

    from rtaudio.stages.beats import ODF_LEAD_S, RATE
    from rtaudio.stages.odf import OdfParams, OnsetEnvelope

    y = soxr.resample(x, rate, RATE).astype(np.float32) if rate != RATE else x
    env = OnsetEnvelope(OdfParams(), sample_rate=RATE)
    frames = env.push(0, y)
    t = np.array([f[0] for f in frames]) / RATE + ODF_LEAD_S
    v = np.array([f[1] + 0.2 * f[2] for f in frames])  # BeatsParams.low_weight
    return t, v, env.fps


def track_frames(v: np.ndarray, fps: float) -> np.ndarray:
    """Beat frames of the causal tracker over the ODF ``v`` (its end-of-input beats included)."""
    from rtaudio.stages.beat_tracker import BeatTracker

    tracker, out = BeatTracker(fps), []
    for value in v:
        out += [b.frame for b in tracker.push(float(value))]
    out += [b.frame for b in tracker.flush()]
    return np.array(out)


def forward_backward(x: np.ndarray, rate: int, window_s: float = 3.0):
    """Beat times (s): forwards, backwards (the ODF reversed), and per ``window_s`` window the one whose beats
    hold more ODF (peak-normalised, +-2 frames)."""
    t, v, fps = odf_frames(x, rate)
    fwd = track_frames(v, fps)
    bwd = np.sort(len(v) - 1 - track_frames(v[::-1].copy(), fps))
    pk = v / (np.percentile(v, 95) + 1e-12)

    def evidence(beats, a, b):
        sel = np.round(beats[(beats >= a) & (beats < b)]).astype(int)
        return sum(pk[max(0, f - 2) : f + 3].max() for f in sel if 0 <= f < len(pk))

    both, edges = [], np.arange(0, len(v) + window_s * fps, window_s * fps)
    for a, b in zip(edges, edges[1:], strict=False):
        src = bwd if evidence(bwd, a, b) > evidence(fwd, a, b) else fwd
        both += list(src[(src >= a) & (src < b)])
    frames = np.arange(len(t))
    return (np.interp(fwd, frames, t), np.interp(bwd, frames, t), np.interp(np.sort(both), frames, t))


def print_forward_backward() -> int:
    """Beat F (mir_eval, 70 ms) of the forward-backward sketch on the click tracks of --lock and the corpus music."""
    from rtaudio.testing import clicks

    print("| signal | forwards (the beats stage) | backwards | per 3 s window, the one with more ODF |")
    print("|---|---|---|---|")
    fs = []
    for name, parts in lock_tracks():
        ref, spans = click_track(parts)
        f, b, c = forward_backward(clicks(ref, spans[-1][1], 22050), 22050)
        row = (f_beats(ref, f, False), f_beats(ref, b, False), f_beats(ref, c, False))
        fs.append(row)
        print(f"| {name} (all beats) | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} |", flush=True)
    fs = np.array(fs[:-1])
    print(
        "| click tracks: min / median / tracks >= 0.95 | "
        + " | ".join(f"{fs[:, i].min():.3f} / {np.median(fs[:, i]):.3f} / {(fs[:, i] >= 0.95).sum()}" for i in range(3))
        + " |"
    )
    if not CORPUS.is_dir():
        return 0
    for name, x, rate, ref, _ in signals(False):
        if name.startswith(("clicks", "beat_and")):
            continue
        f, b, c = forward_backward(x, rate)
        print(
            f"| {name} (trimmed) | {f_beats(ref, f):.3f} | {f_beats(ref, b):.3f} | {f_beats(ref, c):.3f} |", flush=True
        )
    return 0


def syncopated(bpm: float, seconds: float, rate: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic syncopated drums (signal, beat times in s): kick on beat 1, snare on 2 and 4; beat 3 moved to
    its "and" or a 16th early 60 % of the time; off-beat hats and random ghost notes (tuning material for the
    offline beats, like real music whose beat 3 is often syncopated)."""
    from rtaudio.testing import clicks

    rng = np.random.default_rng(seed)
    b = 60.0 / bpm
    beats = np.arange(0.2, seconds - 0.3, b)
    x = np.zeros(int(seconds * rate), np.float32)
    t = np.arange(int(0.15 * rate)) / rate
    kick = (0.7 * np.exp(-t / 0.05) * np.sin(2 * np.pi * (55 + 90 * np.exp(-t / 0.02)) * t)).astype(np.float32)
    n = int(0.1 * rate)
    snare = (0.25 * np.exp(-np.arange(n) / rate / 0.03) * rng.standard_normal(n)).astype(np.float32)
    hat = clicks([0.0], 0.01, rate, amplitude=0.15)

    def put(at, sound, gain=1.0):
        i = int(round(at * rate))
        if 0 <= i < len(x):
            m = min(len(sound), len(x) - i)
            x[i : i + m] += gain * sound[:m]

    for k, tb in enumerate(beats):
        if k % 4 == 0:
            put(tb, kick)
        elif k % 4 in (1, 3):
            put(tb, snare)
        else:
            r = rng.random()
            if r < 0.3:
                put(tb + b / 2, kick, 0.8)
            elif r < 0.6:
                put(tb - b / 4, snare, 0.8)
            else:
                put(tb, kick, 0.6)
        put(tb + b / 2, hat)
        if rng.random() < 0.3:
            put(tb + 0.75 * b, snare, 0.4)
    return x, beats


def synth_music(rate: int = 22050):
    """Synthesized music with known beats: ``beat_and_chords`` steady and across a tempo change, syncopated drums."""
    from rtaudio.testing import beat_and_chords

    for bpm in (90, 100, 120, 140, 160):
        yield f"beat_and_chords {bpm} BPM", beat_and_chords(20.0, rate, bpm=bpm, seed=1), np.arange(0, 20.0, 60 / bpm)
    for a, b in ((100, 140), (140, 100), (90, 160), (160, 90), (120, 150), (150, 120), (100, 150)):
        x = np.concatenate([beat_and_chords(12.0, rate, bpm=a, seed=2), beat_and_chords(12.0, rate, bpm=b, seed=3)])
        ref = np.concatenate([np.arange(0, 12.0 - 1e-9, 60 / a), 12.0 + np.arange(0, 12.0 - 1e-9, 60 / b)])
        yield f"beat_and_chords {a} -> {b} BPM", x, ref
    for bpm, seed in ((96, 1), (110, 2), (124, 3), (130, 4), (140, 5), (150, 6)):
        x, ref = syncopated(bpm, 40.0, rate, seed)
        yield f"syncopated drums {bpm} BPM", x, ref


def precision_recall(ref, est, trim=True, window=0.07) -> tuple[float, float]:
    """Precision and recall of beats ``est`` against ``ref`` (s), each reference matched at most once within ``window``."""
    import mir_eval

    ref, est = np.asarray(ref, float), np.asarray(est, float)
    if trim:
        ref, est = mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est)
    if not len(ref) or not len(est):
        return 0.0, 0.0
    hits = len(mir_eval.util.match_events(ref, est, window))
    return hits / len(est), hits / len(ref)


def print_synth_offline(rate: int = 22050) -> None:
    """Beat F (trimmed) of the offline beats, the causal stage and librosa on :func:`synth_music`."""
    print("\n| synthesized music (trimmed) | offline F | causal F | librosa mean-env F |")
    print("|---|---|---|---|")
    rows = []
    for name, x, ref in synth_music(rate):
        off, _, _ = ours(x, rate, "offline")
        on, _, _ = ours(x, rate)
        _, lb_mean, _, _ = librosa_beats(x, rate)
        rows.append([f_beats(ref, z) for z in (off, on, lb_mean)])
        print(f"| {name} | {rows[-1][0]:.3f} | {rows[-1][1]:.3f} | {rows[-1][2]:.3f} |", flush=True)
    rows = np.array(rows)
    print("| min / mean | " + " | ".join(f"{rows[:, i].min():.3f} / {rows[:, i].mean():.3f}" for i in range(3)) + " |")


def print_offline() -> int:
    """Beat F (mir_eval, 70 ms) of the offline beats (``beats.mode = "offline"``, what markers, report and the
    soundtrack use) against the causal stage and librosa, in the same run."""
    from rtaudio.testing import clicks

    rate = 22050
    print("| track | offline F | offline lock-in start / change | causal F | librosa F |")
    print("|---|---|---|---|---|")
    rows = []
    for name, parts in lock_tracks():
        ref, spans = click_track(parts)
        x = clicks(ref, spans[-1][1], rate)
        off, _, _ = ours(x, rate, "offline")
        on, _, _ = ours(x, rate)
        _, lb_mean, _, _ = librosa_beats(x, rate)
        row = [f_beats(ref, z, False) for z in (off, on, lb_mean)]
        locks = " / ".join("never" if k is None else str(k) for k in lock_in(ref, off, spans))
        if not name.endswith("(the issue's)"):
            rows.append(row)
        print(f"| {name} | {row[0]:.3f} | {locks} | {row[1]:.3f} | {row[2]:.3f} |", flush=True)
    rows = np.array(rows)
    print(
        "| 36 tracks: min / median / >= 0.95 | "
        + " | ".join(
            f"{rows[:, i].min():.3f} / {np.median(rows[:, i]):.3f} / {(rows[:, i] >= 0.95).sum()}"
            + (" | " if i == 0 else "")
            for i in range(3)
        )
        + " |"
    )
    print_synth_offline(rate)
    if not CORPUS.is_dir():
        return 0
    print(
        "\n| signal | offline F trimmed / all | offline P / R trimmed | causal F trimmed / all "
        "| librosa default F trimmed / all | librosa mean-env F trimmed / all |"
    )
    print("|---|---|---|---|---|---|")
    for name, x, r, ref, _ in signals(False):
        if name.startswith("clicks"):
            continue
        off, _, _ = ours(x, r, "offline")
        on, _, _ = ours(x, r)
        lb_def, lb_mean, _, _ = librosa_beats(x, r)
        p, rc = precision_recall(ref, off)
        cells = [f"{f_beats(ref, z):.3f} / {f_beats(ref, z, False):.3f}" for z in (off, on, lb_def, lb_mean)]
        print(f"| {name} | {cells[0]} | {p:.3f} / {rc:.3f} | {cells[1]} | {cells[2]} | {cells[3]} |", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="synthetic signals only")
    ap.add_argument("--lock", action="store_true", help="lock-in on click tracks 60-200 BPM and changes (issue 14)")
    ap.add_argument(
        "--forward-backward", action="store_true", help="the tracker forwards and backwards: an offline sketch"
    )
    ap.add_argument("--synth", action="store_true", help="the offline beats on synthesized music only")
    ap.add_argument("--offline", action="store_true", help="the offline beats (markers, report): click tracks, music")
    args = ap.parse_args()
    if not CORPUS.is_dir():  # say so: a run without the corpus must not pass for a run on it
        print(f"keys_eval: corpus not found at {CORPUS} (set RTAUDIO_CORPUS): corpus music left out", file=sys.stderr)
    if args.offline:
        return print_offline()
    if args.synth:
        print_synth_offline()
        return 0
    if args.lock:
        return print_lock()
    if args.forward_backward:
        return print_forward_backward()
    print(
        "| signal | ours F trimmed | ours F all | librosa default F trimmed / all | librosa mean-env F trimmed / all"
        " | onsets F ours | onsets F librosa |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name, x, rate, ref, ons_ref in signals(args.quick):
        t0 = time.perf_counter()
        b, o, tempi = ours(x, rate)
        dt = time.perf_counter() - t0
        lb_def, lb_mean, _, lo = librosa_beats(x, rate)
        row = (
            name,
            f_beats(ref, b),
            f_beats(ref, b, False),
            f_beats(ref, lb_def),
            f_beats(ref, lb_def, False),
            f_beats(ref, lb_mean),
            f_beats(ref, lb_mean, False),
        )
        on_o = f"{f_onsets(ons_ref, o):.3f}" if ons_ref is not None else f"agree {f_onsets(lo, o):.3f}"
        on_l = f"{f_onsets(ons_ref, lo):.3f}" if ons_ref is not None else "(reference)"
        rows.append(row)
        print(
            f"| {name} | {row[1]:.3f} | {row[2]:.3f} | {row[3]:.3f} / {row[4]:.3f} | {row[5]:.3f} / {row[6]:.3f} "
            f"| {on_o} | {on_l} |",
            flush=True,
        )
        if name.startswith("snare"):
            snare = (x, rate, ref, tempi)
        _ = dt
    if args.quick or not CORPUS.is_dir():
        return 0
    x, r, ref, tempi = snare
    ibi = np.diff(ref)
    mid = (ref[1:] + ref[:-1]) / 2
    a1, a0 = np.polyfit(mid, np.log(60 / ibi), 1)
    resid = np.std(np.log(60 / ibi) - (a1 * mid + a0)) * 100
    print(
        f"\nsnare reference: bpm(t) = {np.exp(a0):.2f} * exp({a1:.4f} t)  (30 * 2**(t/10) has 0.0693); "
        f"log-interval residual {resid:.2f} % RMS"
    )
    t = np.array([p[0] for p in tempi])
    bpm = np.array([p[1] for p in tempi])
    true = np.exp(a0 + a1 * t)
    err = np.abs(bpm / true - 1)
    for start in (4.0, 4.0 + ref[0]):
        sel = t >= start
        print(
            f"tempo error from {start:.2f} s: max {100 * err[sel].max():.2f} %, median {100 * np.median(err[sel]):.2f} %,"
            f" under 4 %: {100 * np.mean(err[sel] < 0.04):.0f} % of {sel.sum()} estimates; first estimate at {t[0]:.2f} s"
        )
    import librosa

    y = librosa.resample(x, orig_sr=r, target_sr=22050)
    tempo = float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=22050)[0])[0])
    tt = librosa.times_like(librosa.onset.onset_strength(y=y, sr=22050), sr=22050)
    dyn = librosa.feature.tempo(y=y, sr=22050, aggregate=None)
    sel = tt >= 4.0
    derr = np.abs(dyn[sel] / np.exp(a0 + a1 * tt[sel]) - 1)
    serr = np.abs(tempo / np.exp(a0 + a1 * tt[sel]) - 1)
    print(
        f"librosa beat_track (one tempo, {tempo:.1f} BPM): error from 4 s max {100 * serr.max():.0f} %, "
        f"median {100 * np.median(serr):.0f} %"
    )
    print(
        f"librosa feature.tempo(aggregate=None) (offline, centred 8.9 s windows): from 4 s max {100 * derr.max():.1f} %,"
        f" median {100 * np.median(derr):.1f} %, under 4 %: {100 * np.mean(derr < 0.04):.0f} %"
    )
    xb, rb = decode(str(CORPUS / "music/beat-small.wav"))
    print(
        "grid check beat-small: {} of {} grid points have an onset within 30 ms, median {:.1f} ms".format(
            *grid_check(xb, rb, 119.82, 0.476, len(xb) / rb)
        )
    )
    xv, rv = decode(str(CORPUS / "music/Kevin_MacLeod_-_Vibe_Ace.ogg"))
    print(
        "grid check Vibe Ace: {} of {} grid points have an onset within 30 ms, median {:.1f} ms".format(
            *grid_check(xv, rv, 129.98, 0.0348, 59.5)
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
