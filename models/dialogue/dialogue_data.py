"""Training and tuning mixtures for the dialogue fine-tune: speech over music, singing counted as music.

Nothing here comes from the dev corpus (``../shared/corpus``), which is only for the final report.

- speech: ``../shared/lid_train`` (Common Voice, speechocean762, CSS10). The first 5 Common Voice
  clips of each language (30, the ones ``benchmarks/separation_eval.py dialogue --speech lid_train``
  uses) are the *tuning* speech; the other Common Voice clips and the even-numbered speechocean762
  clips are the *training* speech; the odd-numbered speechocean762 clips and CSS10 are the voices
  that are made to sing (so no sung voice is also a target voice), the last 10 of those speechocean762
  speakers for the tuning set only;
- instrumental music: Debian's ``fretsonfire-songs-muldjord``, ``fretsonfire-songs-sectoid`` (each
  song's stems summed) and ``hyperrogue-music``; two songs and three tracks are kept for tuning;
- singing: there is no free recording of songs with vocals in the installable packages, so real voices
  are made to sing (:func:`sing`): an LPC vocoder keeps each clip's formants (what is said and by whom)
  and replaces its excitation with a held, sung melody (notes of a pentatonic scale, 0.25-1 s each, with
  portamento and 5-6.5 Hz vibrato), stretched 1.3-2.2x, with room reverb.

Everything is at 16 kHz mono (the corpus mixtures' rate); the trainer resamples to spleeter's 44.1 kHz.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
LID_TRAIN = ROOT / ".." / "shared" / "lid_train"
RATE = 16000
FOF = Path("/usr/share/games/fretsonfire/data/songs")
HYPERROGUE = Path("/usr/share/hyperrogue/music")
#: instrumental music kept out of training, for the tuning set
TUNE_MUSIC = {"muldjord/chaos_god", "sectoid/Feelings", "hr3-caves", "hr3-jungle", "hr-savino-ivory"}
PACKAGES = "fretsonfire-songs-muldjord fretsonfire-songs-sectoid hyperrogue-music"


def load(path: Path, max_s: float | None = None) -> np.ndarray:
    """A file as mono float32 at 16 kHz (at most ``max_s`` seconds)."""
    import soundfile as sf
    import soxr

    x, sr = sf.read(path, dtype="float32", always_2d=True, frames=-1 if max_s is None else int(max_s * 48000))
    x = x.mean(axis=1)
    return soxr.resample(x, sr, RATE).astype(np.float32) if sr != RATE else x


def speech_split() -> dict[str, list[Path]]:
    """{'tune', 'train', 'sing', 'sing_tune'}: lid_train files, as the module docstring says."""
    rows = list(csv.DictReader(open(LID_TRAIN / "MANIFEST.csv")))
    files = [LID_TRAIN / r["file"] for r in rows]
    cv = [f for f in files if "common_voice" in f.name]
    tune = [
        f for lang in ("en", "de", "es", "fr", "ja", "ru") for f in sorted(f for f in cv if f.parent.name == lang)[:5]
    ]
    other = sorted(f for f in files if f not in cv)
    so = [f for f in other if f.parent.name == "en"]
    css = [f for f in other if f.parent.name == "es"]
    sing = so[1::2]
    return {
        "tune": tune,
        "train": sorted(set(cv) - set(tune)) + so[0::2],
        "sing": sing[:-10] + css,
        "sing_tune": sing[-10:],
    }


def music_tracks() -> dict[str, dict[str, Path | list[Path]]]:
    """{'train': {name: files}, 'tune': {name: files}} of the installed Debian music (a song's stems are summed)."""
    if not FOF.is_dir() or not HYPERROGUE.is_dir():
        raise SystemExit(f"music not found: apt-get install {PACKAGES}")
    tracks = {f"{d.parent.name}/{d.name}": sorted(d.glob("*.ogg")) for d in sorted(FOF.glob("*/*")) if d.is_dir()}
    tracks.update({p.stem: [p] for p in sorted(HYPERROGUE.glob("*.ogg"))})
    return {
        "train": {k: v for k, v in tracks.items() if k not in TUNE_MUSIC},
        "tune": {k: v for k, v in tracks.items() if k in TUNE_MUSIC},
    }


def load_music(files: list[Path], max_s: float = 150.0) -> np.ndarray:
    """The stems of one track summed, 16 kHz mono, at most ``max_s`` s, silence at the ends trimmed."""
    parts = [load(f, max_s) for f in files]
    n = min(len(p) for p in parts)
    x = sum(p[:n] for p in parts)
    env = np.abs(x) > 1e-3 * np.abs(x).max()
    idx = np.flatnonzero(env)
    return x[idx[0] : idx[-1] + 1].astype(np.float32) if len(idx) else x


# ------------------------------------------------------------------------------------- singing


def _lpc(frame: np.ndarray, order: int) -> tuple[np.ndarray, float]:
    from scipy.linalg import solve_toeplitz

    r = np.correlate(frame, frame, "full")[len(frame) - 1 : len(frame) + order]
    if r[0] <= 1e-9:
        return np.r_[1.0, np.zeros(order)], 0.0
    r[0] *= 1.0 + 1e-4  # white-noise correction: keeps the filter stable
    a = solve_toeplitz(r[:order], -r[1 : order + 1])
    err = r[0] + r[1 : order + 1] @ a
    return np.r_[1.0, a], float(np.sqrt(max(err, 1e-12) / len(frame)))


def melody(n: int, rng: np.random.Generator) -> np.ndarray:
    """A sung pitch contour, Hz per sample (n,): pentatonic notes 0.25-1 s, portamento, delayed vibrato."""
    base = rng.choice([45, 48, 50, 52, 55, 57, 60, 62])  # MIDI: low male to high female
    scale = np.array([0, 2, 4, 7, 9, 12, 14, 16]) if rng.random() < 0.5 else np.array([0, 3, 5, 7, 10, 12, 15, 17])
    midi = np.empty(n)
    onset = np.empty(n)  # seconds since the note began
    i, deg = 0, int(rng.integers(0, 5))
    while i < n:
        k = int(rng.choice([0.25, 0.375, 0.5, 0.75, 1.0]) * RATE)
        deg = int(np.clip(deg + rng.integers(-2, 3), 0, len(scale) - 1))
        midi[i : i + k] = base + scale[deg]
        onset[i : i + k] = np.arange(min(k, n - i)) / RATE
        i += k
    alpha = 1 - np.exp(-1 / (0.03 * RATE))  # 30 ms portamento (one-pole glide)
    from scipy.signal import lfilter

    midi = lfilter([alpha], [1, alpha - 1], midi, zi=[midi[0] * (1 - alpha)])[0]
    rate, depth = rng.uniform(5.0, 6.5), rng.uniform(0.2, 0.6)  # vibrato: Hz, semitones peak
    ramp = np.clip((onset - 0.15) / 0.2, 0, 1)
    midi = midi + depth * ramp * np.sin(2 * np.pi * rate * np.arange(n) / RATE + rng.uniform(0, 6.3))
    return 440.0 * 2 ** ((midi - 69) / 12)


def sing(speech: np.ndarray, rng: np.random.Generator, order: int = 20) -> np.ndarray:
    """``speech`` (16 kHz) sung: its LPC envelopes over a sung excitation, time-stretched, with reverb."""
    from scipy.signal import lfilter

    x = lfilter([1, -0.97], [1], speech.astype(np.float64))
    win, hop = 512, 80
    stretch = rng.uniform(1.3, 2.2)
    starts = np.arange(0, max(1, len(x) - win), hop)
    env = []
    for s in starts:
        f = x[s : s + win] * np.hanning(win)
        a, g = _lpc(f, order)
        ac = np.correlate(f, f, "full")[win - 1 :]
        lag = ac[40:200]  # 80-400 Hz
        voiced = ac[0] > 0 and lag.max() / ac[0] > 0.35
        env.append((a, g, voiced))
    energies = np.array([e[1] for e in env])
    voiced = np.array([e[2] for e in env]) & (energies > 0.02 * energies.max())
    n_out = int(len(starts) * stretch)
    n = n_out * hop
    f0 = melody(n, rng)
    phase = np.cumsum(2 * np.pi * f0 / RATE)
    exc_v = np.zeros(n)
    for k in range(1, 80):  # band-limited glottal-like source, -6 dB/octave, nothing above 7.8 kHz
        mask = k * f0 < 7800
        exc_v += mask * np.sin(k * phase) / k
    exc_v /= np.sqrt(np.mean(exc_v**2)) + 1e-9
    noise = rng.standard_normal(n)
    y = np.zeros(n)
    zi = np.zeros(order)
    for j in range(n_out):
        src = min(int(j / stretch), len(env) - 1)
        a, g, _ = env[src]
        v = voiced[src]
        seg = slice(j * hop, (j + 1) * hop)
        e = (exc_v[seg] if v else noise[seg]) * g
        y[seg], zi = lfilter([1.0], a, e, zi=zi)
    y = lfilter([1], [1, -0.97], y)
    rt60 = rng.uniform(0.3, 1.2)
    t = np.arange(int(rt60 * RATE)) / RATE
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    ir = np.r_[np.zeros(int(0.02 * RATE)), ir / np.sqrt(np.sum(ir**2))]
    from scipy.signal import fftconvolve

    wet = fftconvolve(y, ir)[: len(y)]
    mix = y + wet * rng.uniform(0.3, 0.7)
    return (mix / (np.sqrt(np.mean(mix**2)) + 1e-9)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-9


def sung_music(instrumental: np.ndarray, voice: np.ndarray, rng: np.random.Generator, vocal_db: float) -> np.ndarray:
    """Instrumental music with a sung voice over it at ``vocal_db`` voice-to-instruments (the voice looped)."""
    v = np.resize(voice, len(instrumental)) if len(voice) < len(instrumental) else voice[: len(instrumental)]
    return (instrumental / rms(instrumental) + v / rms(v) * 10 ** (vocal_db / 20)).astype(np.float32)
