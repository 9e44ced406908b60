"""Levels stage: agreement with pyloudnorm, stream-vs-batch parity, meter readings, gaps, bad parameters."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from rtaudio.errors import InputError, ParameterError
from rtaudio.events import Levels, Loudness
from rtaudio.stages.base import Frame
from rtaudio.stages.levels import LevelsParams, LevelsStage, gated_loudness

pyln = pytest.importorskip("pyloudnorm", reason="pyloudnorm (the loudness reference) is in the dev extra")

RATES = [16000, 44100, 48000]
TOL_LU = 0.1  # the agreement asked of the stage against pyloudnorm
CORPUS = Path(os.environ.get("RTAUDIO_CORPUS") or Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus")


# ---------------------------------------------------------------- signals


def sine(rate, seconds, freq=997.0, dbfs=0.0, channels=1):
    t = np.arange(int(round(seconds * rate))) / rate
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def pink(rate, seconds, dbfs_rms=-20.0, channels=1, seed=0):
    """Noise with a 1/f power spectrum, scaled to ``dbfs_rms``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    spec = np.fft.rfft(rng.standard_normal((n, channels)), axis=0)
    f = np.fft.rfftfreq(n, 1 / rate)
    spec[1:] /= np.sqrt(f[1:, None])
    spec[0] = 0
    x = np.fft.irfft(spec, n, axis=0)
    x *= 10 ** (dbfs_rms / 20) / np.sqrt(np.mean(x**2))
    return x.astype(np.float32)


def with_gaps(rate, seconds, channels=1):
    """Loud pink noise interrupted by digital silence and by quiet passages (both gates act)."""
    x = pink(rate, seconds, -18.0, channels, seed=1)
    n = len(x)
    x[int(0.2 * n) : int(0.4 * n)] = 0.0  # silence: absolute gate
    x[int(0.6 * n) : int(0.8 * n)] *= 10 ** (-25 / 20)  # 25 dB quieter: relative gate
    return x


def stereo_unequal(rate, seconds):
    """Left: pink noise at -20 dBFS RMS; right: a 440 Hz sine at -32 dBFS."""
    return np.concatenate([pink(rate, seconds, -20.0, 1, seed=2), sine(rate, seconds, 440.0, -32.0)], axis=1)


SIGNALS = {
    "sine_-23dBFS_mono": lambda r: sine(r, 5.0, 997.0, -23.0),
    "sine_-23dBFS_stereo": lambda r: sine(r, 5.0, 997.0, -23.0, channels=2),
    "pink": lambda r: pink(r, 6.0),
    "pink_ragged_end": lambda r: pink(r, 6.37, channels=2, seed=3),  # ends 70 ms into a hop
    "gaps": lambda r: with_gaps(r, 10.0),
    "stereo_unequal": lambda r: stereo_unequal(r, 5.0),
}


# ---------------------------------------------------------------- helpers


def run(x, rate, block=None, params=None, index=0):
    """Feed ``x`` in blocks of ``block`` samples (None: whole); return (levels events, loudness event)."""
    stage = LevelsStage(params or LevelsParams(), sample_rate=rate, channels=x.shape[1])
    block = block or max(len(x), 1)
    events = []
    for i in range(0, len(x), block):
        events += stage.process(Frame(index + i, x[i : i + block], rate))
    (summary,) = stage.flush()
    return events, summary


def reference(x, rate):
    return pyln.Meter(rate).integrated_loudness(x.astype(np.float64))


# ---------------------------------------------------------------- agreement with pyloudnorm


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", list(SIGNALS))
def test_integrated_agrees_with_pyloudnorm(name, rate):
    x = SIGNALS[name](rate)
    _, summary = run(x, rate)
    ref = reference(x, rate)
    assert math.isfinite(summary.integrated_lufs)
    assert abs(summary.integrated_lufs - ref) < TOL_LU, (summary.integrated_lufs, ref)
    assert summary.max_peak_dbfs == pytest.approx(20 * math.log10(float(np.abs(x).max())), abs=1e-9)
    assert summary.t == len(x)


@pytest.mark.parametrize("rate", RATES)
def test_ebu_reference_sine(rate):
    """EBU Tech 3341: a 997 Hz sine at -23 dBFS on both stereo channels reads -23.0 LUFS (+-0.1 LU).

    pyloudnorm's K-weighting (which this stage shares) reads it 0.04 LU (48 kHz) to 0.07 LU (16 kHz)
    low; mono reads 3.01 LU lower.
    """
    _, stereo = run(sine(rate, 5.0, 997.0, -23.0, channels=2), rate)
    _, mono = run(sine(rate, 5.0, 997.0, -23.0), rate)
    assert stereo.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert stereo.integrated_lufs - mono.integrated_lufs == pytest.approx(10 * np.log10(2), abs=1e-6)


def test_exact_hops_agree_to_rounding():
    """On input that is a whole number of hops, stage and pyloudnorm use the same blocks: equal to ~1e-9 LU."""
    rate = 48000
    x = with_gaps(rate, 8.0, channels=2)
    _, summary = run(x, rate)
    assert summary.integrated_lufs == pytest.approx(reference(x, rate), abs=1e-6)


@pytest.mark.parametrize("rate", [11025, 22050])
def test_uneven_hops_agree_with_pyloudnorm(rate):
    """hop_s * rate not a whole number of samples (1102.5, 551.25): hops alternate in length on the exact grid."""
    x = with_gaps(rate, 5.23, channels=2)
    for hop_s in (0.1, 0.025):
        events, summary = run(x, rate, block=1000, params=LevelsParams(hop_s=hop_s))
        assert abs(summary.integrated_lufs - reference(x, rate)) < 1e-6
        assert [e.t for e in events] == [int((k + 1) * hop_s * rate + 1e-9) for k in range(len(events))]


def test_tail_block_is_pyloudnorms_last_block():
    """Input ending 60 ms into a step: pyloudnorm gates one more block, zero-padded past the end.

    ``tail_block=True`` (default) reproduces it; ``False`` gates complete blocks only (libebur128).
    """
    rate = 16000
    x = pink(rate, 2.96, -20.0, seed=6)
    x[int(2.5 * rate) :] *= 0.5  # a quieter end (6 dB), so that the extra block moves the result
    ref = reference(x, rate)
    _, with_tail = run(x, rate)
    _, complete_only = run(x, rate, params=LevelsParams(tail_block=False))
    assert with_tail.integrated_lufs == pytest.approx(ref, abs=1e-9)
    assert abs(complete_only.integrated_lufs - ref) > 0.05
    assert complete_only.integrated_lufs == pytest.approx(reference(x[: int(2.9 * rate)], rate), abs=1e-9)


def test_five_channels_with_pyloudnorm_order():
    """pyloudnorm's 5-channel order is L R C Ls Rs; with those weights the stage agrees with it."""
    rate = 48000
    x = np.concatenate([pink(rate, 4.0, -20.0 - 2 * c, 1, seed=10 + c) for c in range(5)], axis=1)
    _, summary = run(x, rate, params=LevelsParams(channel_weights=(1, 1, 1, 1.41, 1.41)))
    assert abs(summary.integrated_lufs - reference(x, rate)) < 1e-6


def test_lfe_is_not_measured():
    """Six channels are taken as 5.1 (L R C LFE Ls Rs): the LFE channel has weight 0."""
    rate = 16000
    x = pink(rate, 4.0, -20.0, 6, seed=4)
    quiet_lfe = x.copy()
    quiet_lfe[:, 3] = 0.0
    assert run(x, rate)[1].integrated_lufs == run(quiet_lfe, rate)[1].integrated_lufs
    assert LevelsParams().weights(6) == (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)
    assert LevelsParams().weights(2) == (1.0, 1.0)


def _corpus_files():
    wanted = [
        "music/doremi.wav",
        "music/sir_duke_slow.ogg",
        "music/Kevin_MacLeod_-_Vibe_Ace.ogg",
        "speech_asr/jfk.flac",
        "speech_asr/librispeech-1995-1837-0001.wav",
        "speech_asr/spk1_snt2.wav",  # 3.15 s: pyloudnorm's zero-padded last block moves it 0.13 LU
        "segments/count.wav",
        "speech_lid/fleurs-de-000.ogg",
    ]
    return [pytest.param(name, marks=pytest.mark.corpus, id=name) for name in wanted]


@pytest.mark.parametrize("name", _corpus_files())
def test_corpus_agrees_with_pyloudnorm(name):
    sf = pytest.importorskip("soundfile")
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus file {path} is absent (set RTAUDIO_CORPUS to the real-audio corpus)")
    x, rate = sf.read(path, dtype="float32", always_2d=True)
    _, summary = run(x, rate, block=4096)
    ref = reference(x, rate)
    assert abs(summary.integrated_lufs - ref) < TOL_LU, (summary.integrated_lufs, ref)


# ---------------------------------------------------------------- streaming equals batch


@pytest.mark.parametrize("block", [1, 160, 1023, 4096, None])
@pytest.mark.parametrize("rate", [16000, 11025])
def test_stream_equals_batch(block, rate):
    seconds = 0.5 if block == 1 else 4.03
    x = with_gaps(rate, seconds, channels=2)
    whole = run(x, rate)
    streamed = run(x, rate, block=block)
    assert streamed == whole  # bit-identical events, summary included
    assert len(whole[0]) == int(seconds / 0.1)


def test_frame_index_offset_moves_times_only():
    rate = 16000
    x = pink(rate, 1.0)
    a, sa = run(x, rate)
    b, sb = run(x, rate, block=777, index=123456)
    assert [e.t - 123456 for e in b] == [e.t for e in a]
    assert [e.momentary_lufs for e in b] == [e.momentary_lufs for e in a]
    assert sb.integrated_lufs == sa.integrated_lufs and sb.t == 123456 + len(x)


# ---------------------------------------------------------------- meter readings


@pytest.mark.parametrize("rate", RATES)
def test_momentary_of_steady_sine_equals_integrated(rate):
    events, summary = run(sine(rate, 4.0, 997.0, -18.0), rate)
    after = [e for e in events if e.t >= 0.4 * rate]
    assert after
    for e in after:
        assert e.momentary_lufs == pytest.approx(summary.integrated_lufs, abs=0.05)
        assert e.short_term_lufs == pytest.approx(summary.integrated_lufs, abs=0.05)


def test_event_grid_and_early_windows():
    """One event per 100 ms hop at its end index; before 400 ms / 3 s the windows cover what is there."""
    rate = 48000
    events, _ = run(pink(rate, 3.5), rate)
    assert all(isinstance(e, Levels) for e in events)
    assert [e.t for e in events] == [4800 * (k + 1) for k in range(35)]
    assert events[0].momentary_lufs == events[0].short_term_lufs  # both: the first 100 ms
    assert events[2].momentary_lufs == events[2].short_term_lufs  # both: the first 300 ms
    assert events[5].momentary_lufs != events[5].short_term_lufs


@pytest.mark.parametrize("rate", RATES)
def test_full_scale_sine_peak_and_rms(rate):
    events, summary = run(sine(rate, 1.0, 1000.0, 0.0, channels=2), rate)
    for e in events:
        assert e.peak_dbfs == pytest.approx(0.0, abs=0.01)
        assert e.rms_dbfs == pytest.approx(-3.0103, abs=0.01)
    assert summary.max_peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_rms_is_over_all_channels():
    rate = 16000
    x = np.zeros((rate, 2), np.float32)
    x[:, 0] = 0.5
    events, _ = run(x, rate)
    assert events[-1].rms_dbfs == pytest.approx(10 * np.log10(0.25 / 2))
    assert events[-1].peak_dbfs == pytest.approx(20 * np.log10(0.5))


def test_silence_is_minus_inf_without_warnings():
    rate = 16000
    x = np.zeros((2 * rate, 2), np.float32)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        events, summary = run(x, rate, block=1000)
        short = run(x[:1000], rate)[1]  # shorter than a block: no block at all
    assert len(events) == 20
    for e in events:
        assert e.peak_dbfs == e.rms_dbfs == e.momentary_lufs == e.short_term_lufs == -math.inf
    assert summary == Loudness(t=2 * rate, integrated_lufs=-math.inf, max_peak_dbfs=-math.inf)
    assert short.integrated_lufs == -math.inf and short.t == 1000
    assert gated_loudness(np.zeros(0)) == -math.inf


def test_smaller_hop_same_integrated():
    rate = 16000
    x = with_gaps(rate, 6.0)
    e1, s1 = run(x, rate)
    e2, s2 = run(x, rate, params=LevelsParams(hop_s=0.05))
    assert len(e2) == 2 * len(e1)
    assert s2.integrated_lufs == pytest.approx(s1.integrated_lufs, abs=1e-9)
    assert [e.momentary_lufs for e in e2[7::2]] == pytest.approx([e.momentary_lufs for e in e1[3:]], abs=1e-9)


# ---------------------------------------------------------------- gaps and bad input


def test_gap_restarts_hops():
    rate = 16000
    x = pink(rate, 3.0, seed=5)
    stage = LevelsStage(sample_rate=rate, channels=1)
    before = stage.process(Frame(0, x[:17000], rate))  # 10 hops and 1000 samples
    after = stage.process(Frame(20000, x[17000:], rate))  # 3000 samples lost
    (summary,) = stage.flush()
    assert [e.t for e in before] == [1600 * (k + 1) for k in range(10)]
    fresh, fresh_summary = run(x[17000:], rate, index=20000)
    assert after == fresh  # metering restarts at the new index
    assert summary.t == 20000 + len(x) - 17000
    # The integrated loudness pools the blocks of both sides; no block spans the gap.
    first = LevelsStage(sample_rate=rate, channels=1)
    first.process(Frame(0, x[:17000], rate))
    second = LevelsStage(sample_rate=rate, channels=1)
    second.process(Frame(20000, x[17000:], rate))
    assert len(first._blocks) == 7 and len(second._blocks) == 16  # 10 hops; 19 hops
    pooled = np.r_[np.frombuffer(first._blocks), np.frombuffer(second._blocks)]
    assert summary.integrated_lufs == gated_loudness(pooled)
    assert fresh_summary.integrated_lufs == second.integrated_lufs()


def test_reset_forgets_everything():
    rate = 16000
    x = pink(rate, 1.0)
    stage = LevelsStage(sample_rate=rate, channels=1)
    stage.process(Frame(0, x, rate))
    stage.reset()
    assert stage.process(Frame(0, x, rate)) == run(x, rate)[0]


def test_wrong_channel_count_is_input_error():
    stage = LevelsStage(sample_rate=16000, channels=2)
    with pytest.raises(InputError, match=r"shape \(10, 1\); the levels stage expects \(n, 2\)"):
        stage.process(Frame(0, np.zeros((10, 1), np.float32), 16000))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hop_s": 0}, r"hop_s=0 must be > 0 and divide the 0.1 s gating step"),
        ({"hop_s": -0.1}, r"hop_s=-0.1 must be > 0"),
        ({"hop_s": 0.03}, r"hop_s=0.03 must be > 0 and divide the 0.1 s gating step"),
        ({"hop_s": 0.4}, r"hop_s=0.4 must be"),
        ({"hop_s": float("nan")}, r"hop_s=nan must be"),
        ({"hop_s": "0.1"}, r"hop_s='0.1' must be"),
        ({"channel_weights": (1.0, -1.0)}, r"channel_weights=\(1.0, -1.0\) must be non-empty, each finite and >= 0"),
        ({"channel_weights": ()}, r"channel_weights=\(\) must be non-empty"),
        ({"channel_weights": ("a",)}, r"channel_weights=\('a',\) must be a sequence of numbers"),
        ({"tail_block": "yes"}, r"tail_block='yes' must be True or False"),
    ],
)
def test_bad_params(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        LevelsParams(**kwargs)


@pytest.mark.parametrize(
    "params, kwargs, match",
    [
        (LevelsParams(), {"sample_rate": 0, "channels": 1}, r"sample_rate=0 must be a positive integer \(Hz\)"),
        (LevelsParams(), {"sample_rate": 44100.0, "channels": 1}, r"sample_rate=44100.0 must be a positive integer"),
        (LevelsParams(), {"sample_rate": 16000, "channels": 0}, r"channels=0 must be a positive integer"),
        (
            LevelsParams(hop_s=0.01),
            {"sample_rate": 40, "channels": 1},
            r"hop_s=0.01 at sample_rate=40 Hz is under one sample",
        ),
        (
            LevelsParams(channel_weights=(1, 1)),
            {"sample_rate": 16000, "channels": 3},
            r"channel_weights=\(1.0, 1.0\) has 2 values; the source has channels=3",
        ),
    ],
)
def test_bad_stage_arguments(params, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        LevelsStage(params, **kwargs)
