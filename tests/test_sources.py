"""File/video sources: every format decodes whole, --stream picks the track, layouts kept, --realtime paces."""

import time
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from rtaudio.api import analyze
from rtaudio.engine import Engine
from rtaudio.events import Levels
from rtaudio.sinks import ListSink
from rtaudio.sources.av import FileSource
from rtaudio.sources.stdin import StdinSource, decode_pcm
from rtaudio.testing import tone


def _decode(path, **kw):
    source = FileSource(str(path), **kw)
    x = np.concatenate(list(source.blocks(lambda e: None)))
    source.close()
    return source, x


def _write_av(path, tracks, rate, codec, container_format=None):
    """Write each (n, ch) float array in ``tracks`` as one audio stream with PyAV."""
    import av

    with av.open(str(path), "w", format=container_format) as out:
        streams = [out.add_stream(codec, rate=rate, layout="stereo" if t.shape[1] == 2 else "mono") for t in tracks]
        for stream, track in zip(streams, tracks, strict=True):
            layout = "stereo" if track.shape[1] == 2 else "mono"
            fmt = stream.codec_context.format.name
            for i in range(0, len(track), 1024):
                chunk = np.ascontiguousarray(track[i : i + 1024].T.astype(np.float32))
                if not fmt.endswith("p"):
                    chunk = chunk.T.reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout=layout)
                frame.sample_rate, frame.pts, frame.time_base = rate, i, Fraction(1, rate)
                for p in stream.encode(frame):
                    out.mux(p)
            for p in stream.encode():
                out.mux(p)


@pytest.mark.parametrize(
    "ext,subtype", [("wav", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS"), ("mp3", "MPEG_LAYER_III")]
)
def test_formats_decode_whole_with_layout(tmp_path, ext, subtype):
    rate = 44100
    x = np.stack([tone(440, 2.0, rate, 0.5), tone(880, 2.0, rate, 0.25)], axis=1)
    path = tmp_path / f"t.{ext}"
    sf.write(path, x, rate, subtype=subtype)
    source, y = _decode(path)
    assert (source.rate, source.channels, source.layout) == (rate, 2, "stereo")
    assert abs(len(y) - len(x)) <= 1200  # mp3 pads a frame
    # the channels stay apart: left is 440 Hz, right 880 Hz
    for ch, f in ((0, 440), (1, 880)):
        spec = np.abs(np.fft.rfft(y[:rate, ch]))
        assert abs(np.argmax(spec) - f) <= 2


def test_m4a_aac(tmp_path):
    x = np.stack([tone(440, 1.0, 48000), tone(440, 1.0, 48000)], axis=1)
    path = tmp_path / "t.m4a"
    _write_av(path, [x], 48000, "aac")
    source, y = _decode(path)
    assert source.layout == "stereo" and abs(len(y) - 48000) < 2048


def test_stream_option_picks_the_audio_track(tmp_path):
    rate = 48000
    first = np.stack([tone(300, 1.0, rate)] * 2, axis=1)
    second = tone(2000, 1.0, rate)[:, None]
    path = tmp_path / "two-tracks.mkv"
    _write_av(path, [first, second], rate, "aac", "matroska")
    for stream, (channels, freq) in enumerate([(2, 300), (1, 2000)]):
        source, y = _decode(path, stream=stream)
        assert source.channels == channels
        assert abs(np.argmax(np.abs(np.fft.rfft(y[:rate, 0]))) - freq) <= 2


def test_realtime_paces_a_file(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(path, tone(440, 2.0, 16000), 16000)
    t0 = time.perf_counter()
    Engine(FileSource(str(path), realtime=True), [], [ListSink()]).run()
    paced = time.perf_counter() - t0
    t0 = time.perf_counter()
    Engine(FileSource(str(path)), [], [ListSink()]).run()
    fast = time.perf_counter() - t0
    # paced: never ahead of real time (a bound no load can break); unpaced: not held to it. No fixed
    # wall-time limit on the fast run (a loaded machine is slow), only relative to the paced one.
    assert paced >= 1.95 and fast < paced / 2, (paced, fast)


@pytest.mark.parametrize(
    "fmt,dtype,scale", [("s16le", "<i2", 32767), ("s32le", "<i4", 2**31 - 1), ("f32le", "<f4", 1.0), ("u8", "u1", None)]
)
def test_raw_pcm_formats(fmt, dtype, scale):
    x = tone(440, 0.1, 8000, 0.5)
    raw = ((x * 127 + 128).astype("u1") if scale is None else (x * scale).astype(dtype)).tobytes()
    y = decode_pcm(raw, fmt, 1)[:, 0]
    assert np.abs(y - x).max() < (1.0 / 64 if scale is None else 1e-4)


def test_s24le_and_channels():
    x = np.stack([tone(440, 0.1, 8000, 0.5), -tone(440, 0.1, 8000, 0.5)], axis=1).reshape(-1)
    ints = np.round(x * (2**23 - 1)).astype("<i4")
    raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    y = decode_pcm(raw, "s24le", 2)
    assert y.shape == (800, 2) and np.abs(y.reshape(-1) - x).max() < 1e-6


def test_stdin_source_blocks_do_not_change_the_events():
    import io

    x = tone(440, 1.0, 16000)
    raw = (x * 32767).astype("<i2").tobytes()
    results = []
    for block in (7, 4096):
        sink = ListSink()
        source = StdinSource(rate=16000, channels=1, stream=io.BytesIO(raw), block_frames=block)
        from rtaudio.stages import build_stages

        Engine(source, build_stages(["levels"], sample_rate=16000, channels=1), [sink]).run()
        results.append([e for e in sink.events if isinstance(e, Levels)])
    assert results[0] == results[1] and len(results[0]) == 10


def test_api_analyze_accepts_paths_and_arrays(tmp_path):
    x = tone(1000, 1.0, 16000)
    path = tmp_path / "t.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    a = [e for e in analyze(str(path)) if not hasattr(e, "source")]
    b = [e for e in analyze(x, rate=16000) if not hasattr(e, "source")]
    assert a == b


def _through_resampler(path):
    """The file decoded with FFmpeg's resampler on every frame: the reference for the direct path."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        source = FileSource(str(path))
        resampler = av.AudioResampler(format="flt", layout=source.layout, rate=source.rate)
        blocks = [
            o.to_ndarray().reshape(-1, source.channels) for f in container.decode(stream) for o in resampler.resample(f)
        ]
        blocks += [o.to_ndarray().reshape(-1, source.channels) for o in resampler.resample(None)]
        source.close()
    return np.concatenate(blocks)


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize(
    ("ext", "subtype"), [("wav", "PCM_16"), ("wav", "FLOAT"), ("flac", "PCM_16"), ("ogg", "VORBIS")]
)
def test_frames_that_skip_the_resampler_are_the_resampler_samples(tmp_path, ext, subtype, channels):
    """16-bit and float frames at the source rate are converted in numpy: bit-identical to FFmpeg's conversion."""
    rng = np.random.default_rng(channels)
    x = rng.uniform(-1, 1, (44100, channels)) * 0.5
    x[:8] = np.array([-1.0, 1.0, -0.5, 0.0, 1 / 32768, -1 / 32768, 0.999, -0.999])[:, None]  # extremes
    path = tmp_path / f"in.{ext}"
    sf.write(path, x, 44100, subtype=subtype)
    _, got = _decode(path)
    assert got.dtype == np.float32 and got.shape == (44100, channels)
    assert np.array_equal(got, _through_resampler(path))
