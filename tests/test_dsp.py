"""rtaudio.dsp, each function once against librosa or the standard it implements."""

from __future__ import annotations

import numpy as np
import pytest

from rtaudio.dsp.chroma import chroma_filterbank
from rtaudio.dsp.dct import dct_matrix
from rtaudio.dsp.filterbanks import (
    fft_frequencies,
    fill_empty_bands,
    hz_to_mel,
    mel_filterbank,
    mel_frequencies,
    mel_to_hz,
    octave_bands,
)
from rtaudio.dsp.frames import frames, istft, stft
from rtaudio.dsp.kweighting import k_weighting_sos
from rtaudio.dsp.windows import WINDOWS, window
from rtaudio.errors import ParameterError

librosa = pytest.importorskip("librosa", reason="librosa (the DSP reference) is in the dev extra")

# ---------------------------------------------------------------- windows


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("n", [1, 2, 400, 2048])
def test_window_matches_librosa(name, periodic, n):
    ref = librosa.filters.get_window("boxcar" if name == "rect" else name, n, fftbins=periodic)
    np.testing.assert_allclose(window(name, n, periodic=periodic), ref, rtol=0, atol=1e-15)


def test_window_rejects_bad_input():
    with pytest.raises(ParameterError, match=r"window='kaiser' must be one of hann, hamming, blackman, rect"):
        window("kaiser", 8)
    with pytest.raises(ParameterError, match=r"n=0 must be a positive integer \(samples\)"):
        window("hann", 0)


# ---------------------------------------------------------------- mel and octave banks


@pytest.mark.parametrize("htk", [False, True])
def test_mel_scale_matches_librosa(htk):
    f = np.array([0.0, 20.0, 500.0, 999.0, 1000.0, 1001.0, 4000.0, 22050.0])
    np.testing.assert_allclose(hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-12)
    m = hz_to_mel(f, htk=htk)
    np.testing.assert_allclose(mel_to_hz(m, htk=htk), f, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        mel_frequencies(42, 60.0, 7600.0, htk=htk),
        librosa.mel_frequencies(42, fmin=60.0, fmax=7600.0, htk=htk),
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    ("rate", "n_fft", "n_mels", "fmin", "fmax", "htk", "norm"),
    [
        (48000, 2048, 64, 20.0, 20000.0, False, None),  # spectrum stage, scale="mel"
        (16000, 1024, 64, 30.0, 8000.0, False, None),  # onset detection function
        (16000, 512, 40, 60.0, 7600.0, True, None),  # language-ID features
        (22050, 2048, 64, 30.0, 22050 / 2 * 0.95, True, "slaney"),  # soundtrack features
        (44100, 4096, 128, 0.0, 22050.0, False, "slaney"),  # librosa's default
    ],
)
def test_mel_filterbank_matches_librosa(rate, n_fft, n_mels, fmin, fmax, htk, norm):
    ref = librosa.filters.mel(
        sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, dtype=np.float64
    )
    got = mel_filterbank(rate, n_fft, n_mels, fmin, fmax, htk=htk, norm=norm)
    assert got.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())


def test_mel_filterbank_rejects_unknown_norm():
    with pytest.raises(ParameterError, match=r"norm='area' must be None or 'slaney'"):
        mel_filterbank(16000, 512, 40, 0.0, 8000.0, norm="area")


@pytest.mark.parametrize("bpo", [1, 3, 6])
def test_octave_bands_follow_iec_61260_base_2(bpo):
    """Mid-band frequencies fmin * 2**(k/b), band edges 2**(+-1/(2b)) around them (IEC 61260-1 base 2)."""
    rate, n_fft, fmin, fmax = 48000, 8192, 31.25, 16000.0
    centers, w = octave_bands(rate, n_fft, fmin, fmax, bpo)
    assert len(centers) == 9 * bpo + 1  # 31.25 Hz .. 16 kHz is 9 octaves, both ends included
    np.testing.assert_allclose(centers, fmin * 2.0 ** (np.arange(len(centers)) / bpo), rtol=1e-14)
    f = fft_frequencies(rate, n_fft)
    lo, hi = centers * 2.0 ** (-1 / (2 * bpo)), centers * 2.0 ** (1 / (2 * bpo))
    inside = (f >= lo[:, None]) & (f < hi[:, None])
    np.testing.assert_array_equal(w, inside.astype(float))
    assert w.sum(axis=0).max() == 1.0  # no bin in two bands


def test_fill_empty_bands_interpolates_or_takes_the_nearest_bin():
    rate, n_fft = 16000, 256  # 62.5 Hz bins: the lowest bands of a 1/6-octave bank from 20 Hz catch none
    centers, w = octave_bands(rate, n_fft, 20.0, 8000.0, 6)
    empty = ~w[:, 1:].any(axis=1)
    assert empty.sum() >= 5
    lin = fill_empty_bands(w.copy(), centers, rate, n_fft, how="interpolate")
    near = fill_empty_bands(w.copy(), centers, rate, n_fft, how="nearest")
    for b in np.flatnonzero(empty):
        pos = max(centers[b] / (rate / n_fft), 1.0)
        assert lin[b] @ np.arange(w.shape[1]) == pytest.approx(pos)  # weights sum to 1 around the centre
        assert lin[b].sum() == pytest.approx(1.0)
        assert np.flatnonzero(near[b]).tolist() == [max(1, round(pos))]
    assert not lin[:, 0].any() and not near[:, 0].any()
    with pytest.raises(ParameterError, match=r"how='cubic' must be 'interpolate' or 'nearest'"):
        fill_empty_bands(w, centers, rate, n_fft, how="cubic")


# ---------------------------------------------------------------- chroma


@pytest.mark.parametrize("spread", ["nearest", "linear"])
def test_chroma_filterbank_follows_librosa_pitch(spread):
    rate, n_fft, fmin, fmax = 22050, 2048, 60.0, 5000.0
    m = chroma_filterbank(rate, n_fft, fmin, fmax, spread=spread)
    f = fft_frequencies(rate, n_fft)
    ok = (f >= fmin) & (f <= fmax)
    assert not m[:, ~ok].any()
    midi = librosa.hz_to_midi(f[ok])
    cols = m[:, ok]
    np.testing.assert_allclose(cols.sum(axis=0), 1.0, rtol=1e-12)
    if spread == "nearest":
        np.testing.assert_array_equal(cols.argmax(axis=0), np.round(midi).astype(int) % 12)
    else:
        k = np.floor(midi).astype(int)
        idx = np.arange(len(k))
        np.testing.assert_allclose(cols[k % 12, idx], 1.0 - (midi - k), atol=1e-9)
    # A4 = 440 Hz is pitch class 9 ("A"), C is class 0
    assert librosa.midi_to_note(69, octave=False) == "A"
    with pytest.raises(ParameterError, match=r"spread='gauss' must be 'nearest' or 'linear'"):
        chroma_filterbank(rate, n_fft, fmin, fmax, spread="gauss")


# ---------------------------------------------------------------- K-weighting


def test_k_weighting_matches_the_bs1770_table_at_48k():
    """ITU-R BS.1770-4 Tables 1 and 2 (48 kHz): shelf and RLB high-pass (``b`` normalised to b0)."""
    shelf = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585]
    rlb_a = [1.0, -1.99004745483398, 0.99007225036621]
    sos = k_weighting_sos(48000)
    np.testing.assert_allclose(sos[0], shelf, atol=1.2e-4)
    np.testing.assert_allclose(sos[1, 3:], rlb_a, atol=3e-5)
    np.testing.assert_allclose(sos[1, :3] / sos[1, 0], [1.0, -2.0, 1.0], rtol=1e-12)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_k_weighting_is_rederived_per_rate_as_pyloudnorm(rate):
    pyln = pytest.importorskip("pyloudnorm", reason="pyloudnorm (the loudness reference) is in the dev extra")
    meter = pyln.Meter(rate)
    ref = np.array([np.r_[f.b, f.a] for f in meter._filters.values()])  # shelf, high-pass
    np.testing.assert_allclose(k_weighting_sos(rate), ref, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- framing, STFT, ISTFT


@pytest.mark.parametrize(("n", "pad_start"), [(10000, 0), (10000, 1024), (300, 2048)])
def test_stft_matches_librosa(n, pad_start):
    n_fft, hop = 2048, 512
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    count = -(-(n + pad_start) // hop) + 1
    got = stft(x, n_fft, hop, pad_start=pad_start, count=count)
    padded = np.zeros((count - 1) * hop + n_fft, np.float32)
    padded[pad_start : pad_start + n] = x
    ref = librosa.stft(padded, n_fft=n_fft, hop_length=hop, window="hann", center=False).T
    assert got.shape == ref.shape == (count, n_fft // 2 + 1) and got.dtype == np.complex64
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-4)


def test_frames_pads_and_counts():
    x = np.arange(1, 11, dtype=np.float32).reshape(1, 10)
    f = frames(x, 4, 3, pad_start=2, count=5)
    assert f.shape == (1, 5, 4)
    np.testing.assert_array_equal(f[0, 0], [0, 0, 1, 2])
    np.testing.assert_array_equal(f[0, 4], [0, 0, 0, 0])
    assert frames(np.ones(9), 4, 2).shape == (3, 4)  # None: every frame that fits
    with pytest.raises(ParameterError, match=r"hop=0 must be a positive integer \(samples\)"):
        frames(x, 4, 0)


def test_istft_inverts_stft_as_librosa():
    """Weighted overlap-add (``normalize=True``) equals librosa.istft and gives the signal back."""
    n, n_fft, hop = 20000, 1024, 256
    x = np.random.default_rng(1).standard_normal((2, n)).astype(np.float32)
    count = -(-(n + n_fft) // hop) + 1
    spec = stft(x, n_fft, hop, pad_start=n_fft, count=count)
    y = istft(spec, n_fft, hop, length=n, offset=n_fft)
    assert y.shape == (2, n) and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=2e-5)
    ref = librosa.istft(np.swapaxes(spec, -1, -2), hop_length=hop, n_fft=n_fft, window="hann", center=False)
    np.testing.assert_allclose(y, ref[:, n_fft : n_fft + n], atol=2e-5)


def test_istft_plain_overlap_add_is_one_and_a_half_times_the_signal():
    """Hann at 75 % overlap sums (squared, analysis times synthesis) to 3/2: spleeter scales by 2/3."""
    n, n_fft, hop = 9000, 4096, 1024
    x = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    spec = stft(x, n_fft, hop, pad_start=n_fft, count=-(-(n + n_fft) // hop))
    y = istft(spec, n_fft, hop, length=n, offset=n_fft, normalize=False)
    np.testing.assert_allclose(y * (2 / 3), x, atol=1e-5)
    with pytest.raises(ParameterError, match=r"hop=1000 must divide n_fft=4096 \(samples\)"):
        istft(spec, n_fft, 1000, length=n)


# ---------------------------------------------------------------- DCT


def test_dct_matrix_matches_scipy():
    import scipy.fft

    eye = np.eye(40)
    np.testing.assert_allclose(dct_matrix(13, 40), scipy.fft.dct(eye, type=2, axis=0)[:13] / 2, atol=1e-13)
    np.testing.assert_allclose(
        dct_matrix(13, 40, norm="ortho"), scipy.fft.dct(eye, type=2, norm="ortho", axis=0)[:13], atol=1e-13
    )
    with pytest.raises(ParameterError, match=r"norm='backward' must be None or 'ortho'"):
        dct_matrix(13, 40, norm="backward")
