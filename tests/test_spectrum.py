"""The spectrum stage: numba kernel vs numpy reference, band layout, dB scale, streaming, ballistics, errors."""

import math
import re

import numpy as np
import pytest

from rtaudio.dsp.filterbanks import hz_to_mel
from rtaudio.dsp.windows import window
from rtaudio.errors import ParameterError
from rtaudio.events import SpectrumBands, SpectrumFrame
from rtaudio.stages.base import Frame
from rtaudio.stages.spectrum import (
    SpectrumParams,
    SpectrumReference,
    SpectrumStage,
    _ballistics,
    _fft_tables,
    _rfft_power,
    _spectrum_kernel,
    band_weights,
    spectrum_reference,
)

RATES = [16000, 44100, 48000]
SCALES = ["octave", "mel"]


def _tone(freq, seconds, rate, amp=1.0, phase=0.0):
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def _noise(seconds, rate, amp=0.1, seed=0):
    return (amp * np.random.default_rng(seed).standard_normal(int(round(seconds * rate)))).astype(np.float32)


def _run(stage, signal, block=None, index=0, channels=1):
    """Feed ``signal`` (n,) through ``stage.process`` in blocks of ``block`` samples (None: whole)."""
    block = len(signal) if block is None else block
    events = []
    for pos in range(0, len(signal), block):
        part = signal[pos : pos + block, None]
        if channels > 1:
            part = np.repeat(part, channels, axis=1)
        events += stage.process(Frame(index + pos, part, stage.sample_rate))
    return events


def _frames(events):
    frames = [e for e in events if isinstance(e, SpectrumFrame)]
    ends = np.array([e.t for e in frames])
    return ends, np.array([e.bands_db for e in frames]), np.array([e.peaks_db for e in frames])


# ---------------------------------------------------------------------------- kernel vs numpy reference


@pytest.mark.parametrize("n_fft", [64, 128, 256, 512, 1024, 2048, 4096, 16384])
def test_rfft_power_matches_numpy(n_fft):
    """The radix-2 real FFT (odd and even numbers of stages) equals np.fft.rfft to rounding."""
    rng = np.random.default_rng(n_fft)
    x = rng.standard_normal(n_fft).astype(np.float32)
    w = window("hann", n_fft)
    tables = _fft_tables(n_fft)
    re_, im_, power = np.zeros(n_fft // 2), np.zeros(n_fft // 2), np.zeros(n_fft // 2 + 1)
    _rfft_power(x, w, *tables, re_, im_, power)
    expected = np.abs(np.fft.rfft(x.astype(np.float64) * w)) ** 2
    np.testing.assert_allclose(power, expected, rtol=0, atol=1e-12 * expected.max())


def _mixture(rate, seconds=0.5):
    """Noise plus tones at several levels, one below the floor, one at Nyquist/3."""
    x = _noise(seconds, rate, amp=0.05)
    for f, a in [(50.0, 0.3), (440.0, 0.5), (1234.5, 0.1), (rate / 3, 0.2), (3000.0, 1e-7)]:
        x = x + _tone(f, seconds, rate, a)
    return x.astype(np.float32)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("signal", ["noise", "tones", "quiet"])
def test_kernel_matches_numpy_reference(rate, scale, signal):
    """Smoothed bands and peaks equal the np.fft.rfft reference within 1e-4 dB."""
    x = {
        "noise": lambda: _noise(0.5, rate, amp=0.3, seed=rate),
        "tones": lambda: _mixture(rate),
        "quiet": lambda: _noise(0.5, rate, amp=1e-5, seed=1),  # straddles the floor: both branches
    }[signal]()
    params = SpectrumParams(scale=scale)
    ends, bands, peaks = _frames(_run(SpectrumStage(params, sample_rate=rate), x))
    ref_ends, ref_bands, ref_peaks = spectrum_reference(x, params, sample_rate=rate)
    assert len(ends) == len(ref_ends) > 5
    np.testing.assert_array_equal(ends, ref_ends)
    np.testing.assert_allclose(bands, ref_bands, rtol=0, atol=1e-4)
    np.testing.assert_allclose(peaks, ref_peaks, rtol=0, atol=1e-4)
    if signal == "quiet":
        assert (bands == params.floor_db).any() and (bands > params.floor_db).any()


@pytest.mark.parametrize(
    "params",
    [
        SpectrumParams(n_fft=64, hop=64, window="rect", bands_per_octave=3, attack_s=0, release_s=0),
        SpectrumParams(n_fft=256, hop=100, window="blackman", bands_per_octave=12, fmin=30.0, fmax=5000.0),
        SpectrumParams(n_fft=1024, hop=1024, window="hamming", scale="mel", n_mels=40, fmax=7000.0),
        SpectrumParams(n_fft=8192, hop=333, scale="mel", n_mels=128, fmin=10.0, floor_db=-80.0),
    ],
    ids=["64-rect", "256-blackman-1/12oct", "1024-hamming-mel40", "8192-mel128"],
)
def test_kernel_matches_reference_other_params(params):
    rate = 22050
    x = _mixture(rate, seconds=1.0)
    ends, bands, peaks = _frames(_run(SpectrumStage(params, sample_rate=rate), x))
    ref_ends, ref_bands, ref_peaks = spectrum_reference(x, params, sample_rate=rate)
    np.testing.assert_array_equal(ends, ref_ends)
    np.testing.assert_allclose(bands, ref_bands, rtol=0, atol=1e-4)
    np.testing.assert_allclose(peaks, ref_peaks, rtol=0, atol=1e-4)


def test_kernel_body_allocates_nothing():
    """Many frames through the kernel, called from compiled code: no NRT allocation at all."""
    from numba import njit
    from numba.core.runtime import _nrt_python, rtsys

    @njit
    def run_frames(signal, hop, n_fft, args):
        for start in range(0, len(signal) - n_fft + 1, hop):
            _spectrum_kernel(signal[start : start + n_fft], *args)

    stage = SpectrumStage(sample_rate=48000)
    args = (
        stage._window,
        stage._bitrev,
        stage._twr,
        stage._twi,
        stage._spr,
        stage._spi,
        stage._re,
        stage._im,
        stage._power,
        stage._start,
        stage._count,
        stage._offset,
        stage._flat,
        stage._fparams,
        stage._smooth,
        stage._peak,
        stage._age,
    )
    x = _noise(1.0, 48000)
    run_frames(x, 512, 2048, args)  # compile
    _nrt_python.memsys_enable_stats()
    try:
        before = rtsys.get_allocation_stats()
        run_frames(x, 512, 2048, args)
        after = rtsys.get_allocation_stats()
    finally:
        _nrt_python.memsys_disable_stats()
    # the call itself unboxes its array arguments (a handful of meminfos), independent of the frame count
    assert after.alloc - before.alloc <= 20
    x_long = _noise(4.0, 48000)
    _nrt_python.memsys_enable_stats()
    try:
        before_long = rtsys.get_allocation_stats()
        run_frames(x_long, 512, 2048, args)
        after_long = rtsys.get_allocation_stats()
    finally:
        _nrt_python.memsys_disable_stats()
    assert after_long.alloc - before_long.alloc == after.alloc - before.alloc


# ---------------------------------------------------------------------------- bands and the dB scale


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("rate", RATES)
def test_sine_lights_its_band(rate, scale):
    """A 0 dBFS 1 kHz sine: the band holding 1 kHz peaks near 0 dB; bands an octave away are > 30 dB lower."""
    stage = SpectrumStage(SpectrumParams(scale=scale), sample_rate=rate)
    events = _run(stage, _tone(1000.0, 1.0, rate))
    bands = events[-1].bands_db
    centers = stage.centers_hz
    k = int(np.argmax(bands))
    if scale == "octave":
        half = 2 ** (1 / (2 * stage.params.bands_per_octave))
        assert centers[k] / half <= 1000.0 < centers[k] * half
        assert abs(bands[k]) < 0.5
    else:
        assert k == int(np.argmin(np.abs(hz_to_mel(centers) - hz_to_mel(1000.0))))
        assert -4.0 < bands[k] < 0.5
    far = (centers <= 500.0) | (centers >= 2000.0)
    assert far.sum() > 10
    assert np.all(bands[far] < bands[k] - 30.0)


@pytest.mark.parametrize("window", ["hann", "hamming", "blackman", "rect"])
def test_full_scale_sine_reads_0_db(window):
    """The dB reference is a full-scale sine, whatever the window (bin-centred tone, one wide band)."""
    rate, n_fft = 48000, 2048
    f = 100 * rate / n_fft  # bin 100, 2343.75 Hz
    params = SpectrumParams(window=window, bands_per_octave=1, attack_s=0.0, release_s=0.0)
    stage = SpectrumStage(params, sample_rate=rate)
    bands = _run(stage, _tone(f, 0.2, rate, amp=0.5))[-1].bands_db
    assert bands.max() == pytest.approx(20 * math.log10(0.5), abs=0.05)


@pytest.mark.parametrize("scale", SCALES)
def test_silence_is_floor(scale):
    for floor in (-120.0, -90.0):
        stage = SpectrumStage(SpectrumParams(scale=scale, floor_db=floor), sample_rate=44100)
        ends, bands, peaks = _frames(_run(stage, np.zeros(44100, np.float32)))
        assert len(ends) > 10
        assert np.all(bands == floor) and np.all(peaks == floor)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("n_fft", [64, 256, 2048])
def test_no_band_is_empty(rate, scale, n_fft):
    """Bands narrower than the bin spacing interpolate between bins; DC is never used."""
    params = SpectrumParams(n_fft=n_fft, hop=n_fft // 2, scale=scale)
    centers, weights = band_weights(params, rate)
    assert np.all(weights.sum(axis=1) > 0)
    assert np.all(weights[:, 0] == 0)
    assert np.all(np.diff(centers) > 0)
    assert centers[0] >= params.fmin and centers[-1] <= min(20000.0, rate / 2)


def test_band_layout():
    centers, weights = band_weights(SpectrumParams(), 48000)
    assert len(centers) == 60  # 20 Hz .. 20 kHz in 1/6 octave: 20 * 2**(59/6) = 17.96 kHz
    np.testing.assert_allclose(centers[::6][:4], [20.0, 40.0, 80.0, 160.0])
    centers, _ = band_weights(SpectrumParams(scale="mel", n_mels=40), 16000)
    assert len(centers) == 40
    # fmax above Nyquist is clipped
    centers, _ = band_weights(SpectrumParams(fmax=30000.0), 16000)
    assert centers[-1] <= 8000.0


def test_neighbouring_narrow_bands_differ():
    """At 64 points (750 Hz bins) bands between bins 1 and 2 interpolate: distinct and ordered levels.

    (Bands centred below bin 1 all read bin 1: DC is never used.)
    """
    rate = 48000
    params = SpectrumParams(n_fft=64, hop=64, bands_per_octave=12, fmax=2000.0, attack_s=0, release_s=0)
    ref = SpectrumReference(params, sample_rate=rate)
    lows = (ref.centers_hz >= 750) & (ref.centers_hz < 1500)
    assert lows.sum() == 12
    x = _tone(2000.0, 64 / rate, rate)  # a tone above: low bands see its (decreasing) leakage
    levels = ref.levels(x)[lows]
    assert np.all(np.diff(levels) > 0)


# ---------------------------------------------------------------------------- events and streaming


def test_events_shape():
    rate = 16000
    stage = SpectrumStage(sample_rate=rate)
    assert stage.name == "spectrum" and stage.rate is None and stage.hop == 512
    assert _run(stage, np.zeros(2047, np.float32)) == []
    events = stage.process(Frame(2047, np.zeros((600, 1), np.float32), rate))
    assert isinstance(events[0], SpectrumBands)
    assert events[0].t == 2048 and events[0].scale == "octave"
    assert events[0].centers_hz == tuple(stage.centers_hz)
    assert [type(e) for e in events[1:]] == [SpectrumFrame, SpectrumFrame]
    assert [e.t for e in events[1:]] == [2048, 2560]
    assert events[1].bands_db.shape == (stage.n_bands,)
    # events hold copies; latest is a live read-only view
    bands, peaks = stage.latest
    assert stage.latest_t == 2560
    np.testing.assert_array_equal(bands, events[-1].bands_db)
    assert not bands.flags.writeable and not peaks.flags.writeable
    assert events[1].bands_db is not events[2].bands_db
    assert stage.flush() == []


@pytest.mark.parametrize("scale", SCALES)
def test_stream_equals_batch(scale):
    """Blocks of 1, 160, 1023, 4096 samples and the whole signal give identical events."""
    rate = 16000
    seconds = 0.6
    t = np.arange(int(seconds * rate)) / rate
    chirp = 0.5 * np.sin(2 * np.pi * (100 * t + 3000 * t**2))
    x = (chirp + _noise(seconds, rate, amp=0.01)).astype(np.float32)
    params = SpectrumParams(scale=scale, hop=400)
    whole = _run(SpectrumStage(params, sample_rate=rate), x, index=1000)
    assert isinstance(whole[0], SpectrumBands) and len(whole) > 10
    assert whole[1].t == 1000 + 2048
    for block in (1, 160, 1023, 4096):
        assert _run(SpectrumStage(params, sample_rate=rate), x, block=block, index=1000) == whole


@pytest.mark.parametrize("n_fft", [64, 2048])  # 32 and 1024 points: with and without the odd radix-2 stage
def test_frames_transformed_together_equal_frames_one_by_one(n_fft):
    """A block of many frames goes through the FFT up to LANES frames at a time: bit-identical events."""
    from rtaudio.stages.spectrum import LANES, MIN_LANES

    rate, hop = 16000, n_fft // 4
    frames = LANES + MIN_LANES + 3  # a full group, a short group, and a tail one by one
    x = _mixture(rate, (n_fft + (frames - 1) * hop) / rate)
    params = SpectrumParams(n_fft=n_fft, hop=hop)
    whole = _run(SpectrumStage(params, sample_rate=rate), x)
    assert len(whole) == frames + 1  # and the SpectrumBands
    assert _run(SpectrumStage(params, sample_rate=rate), x, block=hop) == whole  # one frame per block


def test_stereo_is_mixed_to_mono():
    rate = 16000
    x = _mixture(rate, 0.3)
    mono = _run(SpectrumStage(sample_rate=rate), x)
    stereo = _run(SpectrumStage(sample_rate=rate), x, channels=2)
    assert mono == stereo


def test_reset_starts_over():
    rate = 16000
    x = _mixture(rate, 0.4)
    stage = SpectrumStage(sample_rate=rate)
    first = _run(stage, x)
    stage.reset()
    assert stage.latest_t is None and np.all(stage.latest[0] == stage.params.floor_db)
    assert _run(stage, x) == first


# ---------------------------------------------------------------------------- smoothing and peak hold


def _ballistics_run(levels, a_att, a_rel, hop, hold, decay, floor):
    smooth, peak, age = floor, floor, 0.0
    out = []
    for level in levels:
        smooth, peak, age = _ballistics(level, smooth, peak, age, a_att, a_rel, hop, hold, decay, floor)
        out.append((smooth, peak))
    return np.array(out)


@pytest.mark.parametrize("which", ["attack", "release"])
def test_smoothing_time_constant_is_hop_independent(which):
    """A step reaches 1 - 1/e of its size after attack_s (release_s), for hops of 256 and 1024 samples."""
    rate, tau, floor = 48000, 0.064, -120.0  # 0.064 s = 12 hops of 256 = 3 hops of 1024
    for hop in (256, 1024):
        params = SpectrumParams(hop=hop, attack_s=tau, release_s=tau, floor_db=floor)
        a = math.exp(-hop / (rate * tau))
        stage = SpectrumStage(params, sample_rate=rate)
        assert stage._fparams[3] == pytest.approx(a) and stage._fparams[4] == pytest.approx(a)
        n = round(tau * rate / hop)
        if which == "attack":  # from the floor up to 0 dB
            out = _ballistics_run([0.0] * n, a, a, hop, 0.0, 0.0, floor)
            reached = (out[-1, 0] - floor) / (0.0 - floor)
        else:  # settled at 0 dB, then down to the floor
            out = _ballistics_run([0.0] * 200 + [floor] * n, 0.0, a, hop, 0.0, 0.0, floor)
            reached = (0.0 - out[-1, 0]) / (0.0 - floor)
        assert reached == pytest.approx(1 - math.exp(-1), abs=1e-9)


def test_stage_step_response_is_hop_independent():
    """Whole stage: a tone switched on after silence, attack_s=0.2 s, hops of 128 and 512 samples.

    The band level crosses 63 % of the way from the floor to the tone level about attack_s after the
    step (the step reaches the frame's centre half a frame after it starts), at the same time for both hops.
    """
    rate, n_fft, tau = 48000, 1024, 0.2
    step_at = 12000
    x = np.concatenate([np.zeros(step_at, np.float32), _tone(1000.0, 1.5, rate)])
    crossings = []
    for hop in (128, 512):
        params = SpectrumParams(n_fft=n_fft, hop=hop, attack_s=tau, release_s=tau)
        stage = SpectrumStage(params, sample_rate=rate)
        ends, bands, _ = _frames(_run(stage, x))
        k = int(np.argmax(bands[-1]))
        target = params.floor_db + (1 - math.exp(-1)) * (bands[-1, k] - params.floor_db)
        first = int(np.argmax(bands[:, k] >= target))
        crossings.append((ends[first] - n_fft / 2 - step_at) / rate)
    for c in crossings:
        assert c == pytest.approx(tau, abs=0.02)
    assert crossings[0] == pytest.approx(crossings[1], abs=512 / rate + 0.005)


def test_peak_hold_then_decay_exact():
    rate, hop = 48000, 480
    hold, decay, floor = 1.0 * rate, 20.0 / rate, -120.0
    levels = [-10.0] * 5 + [0.0] + [-60.0] * 300
    out = _ballistics_run(levels, 0.0, 0.0, hop, hold, decay, floor)
    peaks = out[:, 1]
    set_at = 5
    for i in range(set_at, len(levels)):
        age = (i - set_at) * hop
        expected = max(0.0 - 20.0 * max(age - hold, 0) / rate, -60.0)
        assert peaks[i] == pytest.approx(expected, abs=1e-9)
    assert peaks[set_at + 100] == 0.0 and peaks[set_at + 101] < 0.0  # held exactly 1 s


@pytest.mark.parametrize("hop", [256, 512])
def test_stage_peak_hold_then_decay(hop):
    """Tone for 0.5 s, then silence: each peak holds for peak_hold_s after it was last set, then falls at 20 dB/s."""
    rate = 16000
    params = SpectrumParams(hop=hop)
    x = np.concatenate([_tone(1000.0, 0.5, rate), np.zeros(int(2.5 * rate), np.float32)])
    stage = SpectrumStage(params, sample_rate=rate)
    ends, bands, peaks = _frames(_run(stage, x))
    assert np.all(peaks >= bands)
    k = int(np.argmax(bands[len(bands) // 8]))
    last_set = int(np.flatnonzero(peaks[:, k] == bands[:, k])[-1])
    # the peak is last set while the tone fills the frame
    assert abs(ends[last_set] - 0.5 * rate) <= params.n_fft
    top = peaks[last_set, k]
    for i in range(last_set + 1, len(ends)):
        age = ends[i] - ends[last_set]
        over = max(age - params.peak_hold_s * rate, 0.0)
        expected = max(top - params.peak_decay_db_per_s * over / rate, params.floor_db)
        expected = max(expected, bands[i, k])
        assert peaks[i, k] == pytest.approx(expected, abs=1e-6)
    # it did hold, and did come down
    assert peaks[last_set + int(0.9 * rate / hop), k] == top
    assert peaks[-1, k] < top - 15.0


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_fft=1000), "n_fft=1000 must be a power of two >= 64 (samples)"),
        (dict(n_fft=32), "n_fft=32 must be a power of two >= 64"),
        (dict(n_fft=2048.0), "n_fft=2048.0 must be a power of two >= 64"),
        (dict(hop=0), "hop=0 must be an integer in (0, n_fft=2048] samples"),
        (dict(hop=4096), "hop=4096 must be an integer in (0, n_fft=2048] samples"),
        (dict(window="kaiser"), "window='kaiser' must be one of hann, hamming, blackman, rect"),
        (dict(scale="bark"), "scale='bark' must be one of octave, mel"),
        (dict(bands_per_octave=0), "bands_per_octave=0 must be an integer >= 1"),
        (dict(n_mels=0), "n_mels=0 must be an integer >= 1"),
        (dict(fmin=0.0), "fmin=0.0 must be a finite frequency > 0 Hz"),
        (dict(fmax=10.0), "fmax=10.0 must be None or a finite frequency > fmin=20.0 Hz"),
        (dict(attack_s=-0.1), "attack_s=-0.1 must be a finite time >= 0 seconds"),
        (dict(release_s=float("nan")), "release_s=nan must be a finite time >= 0 seconds"),
        (dict(peak_hold_s=-1), "peak_hold_s=-1 must be a finite time >= 0 seconds"),
        (dict(peak_decay_db_per_s=-5.0), "peak_decay_db_per_s=-5.0 must be a finite rate >= 0 dB/s"),
        (dict(floor_db=0.0), "floor_db=0.0 must be a finite level < 0 dB"),
    ],
)
def test_bad_params(kwargs, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        SpectrumParams(**kwargs)


def test_bad_stage_args():
    with pytest.raises(ParameterError, match=re.escape("sample_rate=0 must be a positive integer (Hz)")):
        SpectrumStage(sample_rate=0)
    with pytest.raises(ParameterError, match=re.escape("fmin=9000.0 must be below fmax=8000.0 Hz")):
        SpectrumStage(SpectrumParams(fmin=9000.0), sample_rate=16000)
    stage = SpectrumStage(sample_rate=16000)
    with pytest.raises(ParameterError, match=re.escape("frame rate 48000 Hz does not match sample_rate=16000 Hz")):
        stage.process(Frame(0, np.zeros((10, 1), np.float32), 48000))
    with pytest.raises(ParameterError, match=re.escape("x has shape (100,); analyze_frame expects (2048,) samples")):
        stage.analyze_frame(np.zeros(100, np.float32))
