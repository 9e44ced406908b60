"""UrlSource against real servers on 127.0.0.1 (HTTP, HLS over HTTP, MPEG-TS over UDP): exact delivery,
exact resume after a dropped connection, giving up with a clear error, fast failures, time-outs,
scheme checks and the protocol whitelist."""

from __future__ import annotations

import io
import os
import re
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import numpy as np
import pytest
import soundfile as sf

from rtaudio.engine import Engine
from rtaudio.errors import ParameterError, RtaudioError, StreamError
from rtaudio.events import EndOfInput, SourceFault, SourceRecovered
from rtaudio.sinks import ListSink
from rtaudio.sources import open_source
from rtaudio.sources.url import SCHEMES, UrlSource
from rtaudio.stages.base import Stage
from rtaudio.testing import chirp, noise, tone

FAST = {"backoff_s": 0.01, "backoff_max_s": 0.02, "open_timeout_s": 5, "read_timeout_s": 5}


# -- a Range-capable HTTP server that can break its connections ------------------------------------
class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv: Server = self.server
        path = self.path.split("?")[0]
        with srv.lock:
            srv.requests.append((path, self.headers.get("Range")))
            n = len(srv.requests)
            refuse = srv.refusing or n <= srv.refuse_first or (srv.max_requests is not None and n > srv.max_requests)
        if refuse:  # close without an answer
            self._break()
            return
        body = srv.files.get(path)
        if isinstance(body, list):  # a "broadcast" that differs on each request
            body = body[(n - 1) % len(body)]
        if body is None:
            self.send_error(404)
            return
        start, end = 0, len(body) - 1
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if m and srv.ranges:
            start = int(m.group(1))
            end = min(int(m.group(2)), end) if m.group(2) else end
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if srv.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if srv.chunked:
            self.protocol_version = "HTTP/1.1"
            self.send_header("Transfer-Encoding", "chunked")
        elif srv.length:
            self.send_header("Content-Length", str(end - start + 1))
        if srv.close_header:
            self.send_header("Connection", "close")
        self.end_headers()
        cut = srv.cut_at
        if cut is None or not start <= cut <= end + 1:
            self._send(body[start : end + 1], last=True)
            return
        self._send(body[start:cut])
        self.wfile.flush()
        if self._wait_abandoned_or_armed():  # FFmpeg dropped this connection itself (probe, seek)
            return
        with srv.lock:
            do_cut = srv.armed.is_set() and srv.cuts != 0
            if do_cut:
                srv.cuts -= 1
                srv.refusing = srv.refuse_after_cut
        if do_cut and srv.clean_cut:  # a clean but early end: the last chunk, then close
            self._send(b"", last=True)
            self._break()
        elif do_cut:  # a broken stream: Content-Length promised more, or no last chunk
            self._break()
        else:
            self._send(body[cut : end + 1], last=True)

    def _send(self, data: bytes, last: bool = False):
        if not self.server.chunked:
            self.wfile.write(data)
            return
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if last:
            self.wfile.write(b"0\r\n\r\n")

    def _break(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _wait_abandoned_or_armed(self, wait_s: float = 0.3) -> bool:
        """Wait until the client has closed (True), or the cut is armed or ``wait_s`` passed (False).

        FFmpeg closes the connections it gave up (probing, seeking) before the source's constructor
        returns, so once armed, a connection still open is the one the source streams from.
        """
        deadline = time.monotonic() + wait_s
        while True:
            readable, _, _ = select.select([self.connection], [], [], 0.01)
            if readable:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:
                    return True
            if self.server.armed.is_set() or time.monotonic() > deadline:
                return False


class Server(ThreadingHTTPServer):
    """Serves ``files`` (path -> bytes, or a list of bytes: one per request in turn) on 127.0.0.1,
    honouring ``Range`` with 206 answers.

    ``ranges``/``length``/``chunked`` choose how the body is announced (no ``Range`` support, no
    ``Content-Length``, chunked transfer encoding); ``close_header`` sends ``Connection: close``.
    A chunked 206 answer still carries ``Content-Range``, so the client knows the full size.

    Breaking streams: once ``armed`` is set, a response that reaches byte ``cut_at`` stops there and
    its socket is closed although more was announced (with ``clean_cut`` and ``chunked``: the body is
    ended properly, early), ``cuts`` times (-1: always); with
    ``refuse_after_cut``, or after ``max_requests`` requests, later requests are closed without an
    answer; so are the first ``refuse_first`` requests.  Arm it after the source is constructed: FFmpeg reads well ahead while opening (about
    4 s of PCM), and that read is not the break a test means.
    """

    daemon_threads = True

    def __init__(
        self,
        files: dict[str, bytes],
        *,
        ranges: bool = True,
        length: bool = True,
        chunked: bool = False,
        close_header: bool = True,
        cut_at: int | None = None,
        cuts: int = 1,
        clean_cut: bool = False,
        refuse_after_cut: bool = False,
        max_requests: int | None = None,
        refuse_first: int = 0,
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files, self.ranges, self.length, self.chunked = files, ranges, length, chunked
        self.close_header, self.clean_cut = close_header, clean_cut
        self.cut_at, self.cuts, self.refuse_after_cut, self.max_requests = cut_at, cuts, refuse_after_cut, max_requests
        self.refuse_first = refuse_first
        self.armed = threading.Event()
        self.refusing = False
        self.requests: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def handle_error(self, request, client_address):
        pass  # clients (FFmpeg) drop connections mid-response all the time: not an error here

    def stop(self):
        self.armed.set()
        self.shutdown()
        self.server_close()


@pytest.fixture
def serve():
    servers = []

    def make(files, **kw):
        servers.append(Server(files, **kw))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


# -- helpers --------------------------------------------------------------------------------------------
class Collect(Stage):
    """Keeps every frame's samples and checks that frame indices are contiguous."""

    def __init__(self):
        self.parts: list[np.ndarray] = []
        self.next = 0

    def process(self, frame):
        assert frame.index == self.next, f"frame at {frame.index}, expected {self.next}"
        self.next = frame.end
        self.parts.append(frame.samples.copy())
        return []

    @property
    def audio(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros((0, 1), np.float32)


def run_engine(source, limit_s: float = 15.0, ring_seconds: float = 4.0):
    """Run ``source`` through a collecting stage; returns (collected audio, events, error or None)."""
    collect, sink = Collect(), ListSink()
    engine = Engine(source, stages=[collect], sinks=[sink], ring_seconds=ring_seconds)
    engine.start()
    error = None
    try:
        if engine.join(limit_s) is None:
            engine.stop()
            pytest.fail(f"the run did not finish within {limit_s} s")
    except RtaudioError as exc:
        error = exc
    return collect.audio, sink.events, error


def signal(rate: int, channels: int, seconds: float = 3.0) -> np.ndarray:
    """A chirp plus a little noise: any shift, repeat or gap shows up in a sample comparison."""
    x = chirp(100, 4000, seconds, rate, amplitude=0.4) + noise(seconds, rate, amplitude=0.05)
    if channels == 2:
        x = np.stack([x, np.roll(x, 17) * 0.5], axis=1)
    return x.reshape(len(x), -1)


def encode(x: np.ndarray, rate: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype={"WAV": "PCM_16", "OGG": "VORBIS"}[fmt])
    return buf.getvalue()


def ffmpeg_decode(data: bytes) -> np.ndarray:
    """The reference: FFmpeg decoding the same bytes from memory, float32 (n, channels)."""
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.audio[0]
        rs = av.AudioResampler(format="flt", layout={1: "mono", 2: "stereo"}[s.channels], rate=s.rate)
        parts = [o.to_ndarray().reshape(-1, s.channels) for f in c.decode(s) for o in rs.resample(f)]
        parts += [o.to_ndarray().reshape(-1, s.channels) for o in rs.resample(None)]
    return np.concatenate(parts)


def make_ts(freq: float, seconds: float, rate: int = 48000) -> bytes:
    """An MPEG-TS (mp2 audio) holding a ``freq`` Hz tone: a typical HLS segment."""
    buf = io.BytesIO()
    x = tone(freq, seconds, rate)
    with av.open(buf, "w", format="mpegts") as c:
        st = c.add_stream("mp2", rate=rate, layout="mono")
        for i in range(0, len(x), 1152):
            blk = np.zeros(1152, np.float32)
            blk[: len(x[i : i + 1152])] = x[i : i + 1152]
            frame = av.AudioFrame.from_ndarray(blk[None, :], format="flt", layout="mono")
            frame.rate, frame.pts = rate, i
            for p in st.encode(frame):
                c.mux(p)
        for p in st.encode(None):
            c.mux(p)
    return buf.getvalue()


def playlist(*segments: str, seconds: float = 2.0) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(np.ceil(seconds))}", "#EXT-X-MEDIA-SEQUENCE:0"]
    for seg in segments:
        lines += [f"#EXTINF:{seconds:.1f},", seg]
    return ("\n".join(lines + ["#EXT-X-ENDLIST", ""])).encode()


def band_energy(x: np.ndarray, rate: int, freq: float) -> float:
    """Fraction of the energy within 50 Hz of ``freq``."""
    spec = np.abs(np.fft.rfft(x.mean(axis=1) if x.ndim == 2 else x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / rate)
    return float(spec[np.abs(f - freq) < 50].sum() / max(spec.sum(), 1e-30))


# -- 1. a file over http arrives whole and exact ---------------------------------------------------------
@pytest.mark.parametrize("fmt,rate,channels", [("WAV", 16000, 1), ("WAV", 48000, 2), ("OGG", 48000, 2)])
def test_file_over_http_arrives_whole(serve, fmt, rate, channels):
    x = signal(rate, channels)
    data = encode(x, rate, fmt)
    srv = serve({f"/a.{fmt.lower()}": data})
    src = UrlSource(srv.url(f"/a.{fmt.lower()}"))
    assert (src.rate, src.channels, src.live) == (rate, channels, False)
    assert src.duration_s == pytest.approx(3.0, abs=0.01)
    audio, events, error = run_engine(src)
    assert error is None
    ref = ffmpeg_decode(data)
    assert len(audio) == len(ref) >= len(x)  # FFmpeg keeps Vorbis' last partial block: 48128 >= 48000
    np.testing.assert_array_equal(audio, ref)  # same decoder, same samples
    if fmt == "WAV":
        np.testing.assert_allclose(audio, x, atol=1 / 32768 + 1e-7)  # 16-bit quantisation only
    else:
        n = len(x) - 100  # Vorbis is lossy: check it is the original, aligned to the sample
        err = {lag: np.sqrt(np.mean((audio[50 + lag : 50 + lag + n] - x[50 : 50 + n]) ** 2)) for lag in (-1, 0, 1)}
        assert err[0] < 0.2 * np.sqrt(np.mean(x**2)) and err[0] < min(err[-1], err[1]) / 2
    end = [e for e in events if isinstance(e, EndOfInput)]
    assert end and end[-1].reason == "end" and end[-1].t == len(ref)
    assert not any(isinstance(e, SourceFault) for e in events)


def test_hls_playlist_over_http(serve):
    seg = make_ts(440, 2.0)
    srv = serve({"/seg0.ts": seg})
    srv.files["/live.m3u8"] = playlist(srv.url("/seg0.ts"))
    src = UrlSource(srv.url("/live.m3u8"))
    audio, _, error = run_engine(src)
    assert error is None
    assert len(audio) == len(ffmpeg_decode(seg))
    assert band_energy(audio, src.rate, 440) > 0.9


def test_live_stream_ends_cleanly(serve):
    """A stream without length or Range (chunked, ending with its last chunk) is live and arrives whole."""
    data = encode(signal(48000, 1), 48000, "OGG")
    srv = serve({"/radio.ogg": data}, chunked=True, ranges=False)
    src = UrlSource(srv.url("/radio.ogg"))
    assert src.live and src.duration_s is None and not src.seekable
    audio, events, error = run_engine(src)
    assert error is None
    np.testing.assert_array_equal(audio, ffmpeg_decode(data))
    assert not any(isinstance(e, SourceFault) for e in events)


def test_live_stream_reconnects_and_the_clock_goes_on(serve):
    """Icecast-like radio (no length, no Range): a drop is reported, the stream is reopened and its audio
    continues the source clock from where it stopped (a live stream is not rewound).

    This server serves a new "broadcast" on the second request, then refuses (a reconnection that
    starts the same audio over is a finished file: see test_http_file_without_length_ends)."""
    data = encode(signal(48000, 1, seconds=10.0), 48000, "OGG")
    data2 = encode(0.5 * signal(48000, 1, seconds=10.0)[::-1], 48000, "OGG")
    ref = ffmpeg_decode(data2)
    srv = serve({"/radio.ogg": [data, data2]}, ranges=False, length=False, cut_at=int(0.6 * len(data)), max_requests=2)
    src = UrlSource(srv.url("/radio.ogg"), max_retries=1, **FAST)
    srv.armed.set()
    assert src.live
    audio, events, error = run_engine(src, ring_seconds=30)
    faults = [e for e in events if isinstance(e, SourceFault)]
    recovered = [e for e in events if isinstance(e, SourceRecovered)]
    t1 = faults[0].t
    assert 0.4 * len(ref) < t1 < 0.65 * len(ref)
    assert [(f.t, f.attempt) for f in faults] == [(t1, 1), (t1 + len(ref), 1), (t1 + len(ref), 2)]
    assert faults[-1].retry_in_s == 0 and [(r.t, r.attempt) for r in recovered] == [(t1, 1)]
    assert isinstance(error, StreamError)  # the third request was refused and max_retries=1
    assert len(audio) == t1 + len(ref)  # Collect checked that frame indices never jump or repeat
    np.testing.assert_array_equal(audio[:t1], ffmpeg_decode(data)[:t1])
    np.testing.assert_array_equal(audio[t1:], ref)


def encode_mp3(x: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as c:
        s = c.add_stream("libmp3lame", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1).astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate = rate
        for p in [*s.encode(frame), *s.encode(None)]:
            c.mux(p)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["MP3", "OGG"])
def test_http_file_without_length_ends(serve, fmt):
    """A file served without Content-Length (so it looks live) that closes after its last byte ends once:
    FFmpeg reports a read error, and the reconnection that starts the same audio over is taken as the end."""
    x = signal(44100, 1, seconds=3.0)
    data = encode_mp3(x[:, 0], 44100) if fmt == "MP3" else encode(x, 44100, "OGG")
    srv = serve({"/a": data}, ranges=False, length=False)
    src = UrlSource(srv.url("/a"), **FAST)
    assert src.live
    audio, events, error = run_engine(src)
    assert error is None
    ref = ffmpeg_decode(data)  # from memory FFmpeg also trims the MP3 encoder's end padding (< 2 frames)
    assert 0 <= len(audio) - len(ref) < 2 * 1152
    np.testing.assert_array_equal(audio[: len(ref)], ref)
    end = next(e for e in events if isinstance(e, EndOfInput))
    assert end.reason == "end" and len(srv.requests) <= 2


def _wait_until_bound(port: int, limit_s: float = 5.0) -> None:
    """Wait until someone (FFmpeg) has bound UDP ``port`` (read from /proc/net/udp; a fixed wait elsewhere)."""
    if not os.path.exists("/proc/net/udp"):
        time.sleep(0.5)
        return
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with open("/proc/net/udp") as f:
            if any(line.split()[1].endswith(f":{port:04X}") for line in f.readlines()[1:]):
                return
        time.sleep(0.01)


def test_udp_mpegts_is_live_and_a_silent_stream_times_out():
    """MPEG-TS over UDP (a typical broadcast feed): live, every sample arrives; when the sender goes
    quiet for longer than read_timeout_s the source reports it and, with max_retries=0, gives up."""
    ts = make_ts(440, 3.0)
    port = _closed_port()

    def send():
        _wait_until_bound(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            for i in range(0, len(ts), 1316):  # 7 TS packets per datagram
                out.sendto(ts[i : i + 1316], ("127.0.0.1", port))
                time.sleep(0.0002)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    url = f"udp://127.0.0.1:{port}"
    src = UrlSource(url, max_retries=0, open_timeout_s=5, read_timeout_s=0.5)
    assert src.live and src.rate == 48000
    audio, events, error = run_engine(src, ring_seconds=30)
    sender.join(5)
    assert len(audio) == len(ffmpeg_decode(ts)) and band_energy(audio, 48000, 440) > 0.99
    assert isinstance(error, StreamError) and url in str(error) and "no data within 0.5 s" in str(error)
    assert [(e.t, e.retry_in_s) for e in events if isinstance(e, SourceFault)] == [(len(audio), 0.0)]


# -- 2. a dropped connection is reported, resumed exactly ------------------------------------------------
@pytest.mark.parametrize("fmt", ["WAV", "OGG"])
@pytest.mark.parametrize("how", ["ffmpeg-error", "early-eof", "no-range", "no-seek"])
def test_drop_midway_resumes_seamlessly(serve, fmt, how):
    """The connection breaks at 60 % of the bytes once; the audio still arrives whole, sample for sample.

    ffmpeg-error: the socket closes short of Content-Length (FFmpeg: "Stream ends prematurely", EIO);
    early-eof: a chunked answer ends properly but early (a clean end of file, caught against the known
    duration); no-range: the server ignores ``Range`` (FFmpeg seeks forward by reading); no-seek:
    ``seekable=False``, the stream is decoded again from the start, skipping what was produced.
    """
    rate, channels, seconds = 16000, 2, 20.0  # long enough that opening reads well short of the break
    data = encode(signal(rate, channels, seconds), rate, fmt)
    srv = serve(
        {"/a": data},
        cut_at=int(0.6 * len(data)),
        cuts=1,
        ranges=how != "no-range",
        chunked=how == "early-eof",
        clean_cut=how == "early-eof",
    )
    src = UrlSource(srv.url("/a"), max_retries=3, **FAST)
    assert src.seekable and not src.live
    src.seekable = how != "no-seek"
    srv.armed.set()
    audio, events, error = run_engine(src)
    assert error is None, error
    assert srv.cuts == 0, "the server never cut a connection"
    faults = [e for e in events if isinstance(e, SourceFault)]
    recovered = [e for e in events if isinstance(e, SourceRecovered)]
    assert len(faults) == 1 and faults[0].attempt == 1 and faults[0].retry_in_s == pytest.approx(0.01)
    assert len(recovered) == 1 and recovered[0].attempt == 1
    assert events.index(faults[0]) < events.index(recovered[0])
    assert recovered[0].t == faults[0].t
    t = faults[0].t
    assert 0.3 * seconds * rate < t < 0.7 * seconds * rate  # the break happened near 60 % of the bytes
    expected = "stream ended at" if how == "early-eof" else "read failed at"
    assert faults[0].message.startswith(expected), faults[0].message
    ref = ffmpeg_decode(data)
    assert len(audio) == len(ref)
    np.testing.assert_array_equal(audio, ref)  # exact, sample for sample, across the resume point


# -- 3. a stream that never comes back: StreamError, partial results kept ---------------------------------
@pytest.mark.parametrize("mode", ["refuse", "cut"])
def test_gives_up_after_max_retries(serve, mode):
    """ "refuse": every request after the break is closed unanswered (reopen fails);
    "cut": every request is broken at the same byte (reopen works, no new audio ever comes)."""
    rate = 16000
    x = signal(rate, 1, seconds=10.0)
    data = encode(x, rate, "WAV")
    srv = serve(
        {"/a.wav": data},
        cut_at=int(0.6 * len(data)),
        cuts=1 if mode == "refuse" else -1,
        refuse_after_cut=mode == "refuse",
    )
    url = srv.url("/a.wav")
    src = UrlSource(url, max_retries=2, **FAST)
    srv.armed.set()
    t0 = time.perf_counter()
    audio, events, error = run_engine(src)
    assert time.perf_counter() - t0 < 8
    assert isinstance(error, StreamError)
    msg = str(error)
    assert url in msg and "2 reconnection" in msg and "broke at" in msg
    faults = [e for e in events if isinstance(e, SourceFault)]
    assert [f.attempt for f in faults] == [1, 2, 3]
    assert [f.retry_in_s for f in faults] == [0.01, 0.02, 0.0]
    assert not any(isinstance(e, SourceRecovered) for e in events)
    assert isinstance(events[-1], EndOfInput) and events[-1].reason == "error"
    assert 0 < len(audio) == faults[-1].t < len(x)
    np.testing.assert_array_equal(audio, ffmpeg_decode(data)[: len(audio)])


def test_stop_during_backoff_is_quick(serve):
    data = encode(signal(16000, 1, seconds=10.0), 16000, "WAV")
    srv = serve({"/a.wav": data}, cut_at=int(0.6 * len(data)), refuse_after_cut=True)
    sink = ListSink()
    engine = Engine(UrlSource(srv.url("/a.wav"), backoff_s=30, backoff_max_s=30), stages=[], sinks=[sink])
    srv.armed.set()
    engine.start()
    deadline = time.monotonic() + 10
    while not any(isinstance(e, SourceFault) for e in list(sink.events)):
        assert time.monotonic() < deadline, "no fault reported"
        time.sleep(0.01)
    t0 = time.perf_counter()
    engine.stop()
    assert engine.join(5) is not None
    assert time.perf_counter() - t0 < 1.0
    assert sink.events[-1].reason == "stopped"


# -- 4. unreachable: fast, clear ----------------------------------------------------------------------------
def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_url_fails_fast():
    url = f"http://127.0.0.1:{_closed_port()}/x.wav"
    t0 = time.perf_counter()
    with pytest.raises(StreamError) as info:
        UrlSource(url)
    assert time.perf_counter() - t0 < 3
    assert str(info.value) == f"cannot open stream {url!r}: Connection refused"


def test_http_404_names_url_and_status(serve):
    srv = serve({})
    url = srv.url("/missing.wav")
    with pytest.raises(StreamError, match=re.escape(repr(url)) + ".*404"):
        open_source(url)


def test_open_timeout(serve):
    """A server that accepts the connection and never answers: StreamError after open_timeout_s."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    url = f"http://127.0.0.1:{lsock.getsockname()[1]}/x.wav"
    try:
        t0 = time.perf_counter()
        with pytest.raises(StreamError, match=re.escape(repr(url)) + ": no answer within 0.5 s"):
            UrlSource(url, open_timeout_s=0.5, read_timeout_s=0.5)
        assert time.perf_counter() - t0 < 3
    finally:
        lsock.close()


def test_open_retries_at_construction(serve):
    """The first two requests go unanswered: open_retries=2 gets through, the default fails at once."""
    data = encode(signal(16000, 1), 16000, "WAV")
    srv = serve({"/a.wav": data}, refuse_first=2)
    url = srv.url("/a.wav")
    with pytest.raises(StreamError, match=re.escape(f"cannot open stream {url!r}")):
        UrlSource(url)
    srv.requests.clear()
    src = UrlSource(url, open_retries=2, backoff_s=0.01)
    assert src.duration_s == pytest.approx(3.0)
    audio, _, error = run_engine(src)
    assert error is None and len(audio) == 48000


# -- 5. schemes and parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "gopher://x/y",
        "file:///etc/passwd",
        "concat:/etc/passwd|/etc/hosts",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "ftp://host/a.mp3",
        "/etc/passwd",
    ],
)
def test_unsupported_scheme_rejected(url):
    with pytest.raises(ParameterError) as info:
        UrlSource(url)
    msg = str(info.value)
    assert repr(url) in msg and "accepted schemes: " + ", ".join(SCHEMES) in msg
    if url.startswith("file:"):
        assert "plain path" in msg


def test_open_source_routes_urls_and_rejects_bad_schemes():
    with pytest.raises(ParameterError, match="accepted schemes"):
        open_source("gopher://example.org/a.wav")


@pytest.mark.parametrize(
    "kw,text",
    [
        ({"max_retries": -1}, "max_retries=-1 must be an integer >= 0"),
        ({"open_timeout_s": 0}, "open_timeout_s=0 must be a number > 0"),
        ({"backoff_s": 2, "backoff_max_s": 1}, "backoff_max_s=1 must be >= backoff_s=2"),
        ({"options": {"protocol_whitelist": "file"}}, "protocol whitelist of a URL source is fixed"),
    ],
)
def test_bad_parameters(kw, text):
    with pytest.raises(ParameterError, match=re.escape(text)):
        UrlSource("http://127.0.0.1:1/a.wav", **kw)


def test_password_not_shown():
    with pytest.raises(StreamError) as info:
        UrlSource(f"http://user:s3cret@127.0.0.1:{_closed_port()}/x.wav")
    assert "s3cret" not in str(info.value) and "user:***@" in str(info.value)


# -- 6. a remote playlist cannot reach local files ----------------------------------------------------------------
@pytest.fixture
def secret(tmp_path):
    """A local MPEG-TS file (1 kHz tone) that no remote playlist may read."""
    path = tmp_path / "secret.ts"
    path.write_bytes(make_ts(1000, 2.0))
    return path


def test_whitelist_control_the_attack_is_real(serve, secret):
    """Control: FFmpeg with 'file' allowed does read the local segment, so the tests below are not vacuous."""
    srv = serve({"/evil.m3u8": playlist(secret.as_uri())})
    with av.open(srv.url("/evil.m3u8"), options={"protocol_whitelist": "file,http,tcp"}, timeout=5) as c:
        leaked = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    assert band_energy(leaked, 48000, 1000) > 0.9


@pytest.mark.parametrize("segment", ["uri", "concat", "subfile"])
def test_playlist_cannot_reach_local_files(serve, secret, segment):
    """An http playlist whose only segment is a local file: refused at open, naming the URL.

    ``file:`` is stopped by the protocol whitelist (the control above shows FFmpeg reads it otherwise);
    ``concat:``/``subfile:`` are refused by FFmpeg's HLS demuxer itself as well (defence in depth)."""
    seg = {
        "uri": secret.as_uri(),
        "concat": f"concat:{secret}|{secret}",
        "subfile": f"subfile,,start,0,end,0,,:{secret}",
    }[segment]
    srv = serve({"/evil.m3u8": playlist(seg)})
    url = srv.url("/evil.m3u8")
    with pytest.raises(StreamError, match=re.escape(repr(url))):
        UrlSource(url, **FAST)


def test_mixed_playlist_plays_remote_audio_only(serve, secret):
    """First segment remote (440 Hz), second local (1 kHz): not one sample of the local file arrives."""
    srv = serve({"/seg0.ts": make_ts(440, 2.0)})
    srv.files["/mixed.m3u8"] = playlist(srv.url("/seg0.ts"), secret.as_uri())
    src = UrlSource(srv.url("/mixed.m3u8"), max_retries=1, **FAST)
    audio, events, error = run_engine(src)
    assert len(audio) > 0 and band_energy(audio, src.rate, 440) > 0.9
    assert band_energy(audio, src.rate, 1000) < 1e-4
    assert len(audio) <= len(ffmpeg_decode(make_ts(440, 2.0)))
    # the playlist promised 4 s: the missing half is a broken stream, reported and then given up
    assert isinstance(error, StreamError) and "ended at" in str(error)
    assert any(isinstance(e, SourceFault) and e.retry_in_s == 0 for e in events)
