"""Network streams through PyAV (FFmpeg): http(s) files and HLS playlists, rtsp, rtmp, udp and rtp.

A :class:`UrlSource` is an :class:`~rtaudio.sources.av.AvSource` with three
additions:

- **a protocol whitelist** (:data:`PROTOCOL_WHITELIST`): FFmpeg may only open
  network protocols, so a remote playlist cannot make it read local files
  (``file:``, ``concat:``, ``subfile:``, ``pipe:``, ``fd:`` are all refused);
  URL schemes other than :data:`SCHEMES` are rejected before anything is opened;
- **time-outs** for opening and for each read;
- **reconnection with exponential backoff**: a stream that breaks is reported
  (:class:`~rtaudio.events.SourceFault`), reopened, and for a stream of known
  length resumed exactly at the sample where it stopped, so the source clock
  continues without a gap or a repeat (:class:`~rtaudio.events.SourceRecovered`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from rtaudio.errors import ParameterError, RtaudioError, StreamError
from rtaudio.events import SourceFault, SourceRecovered
from rtaudio.ring import Ring
from rtaudio.sources.av import AvSource, _av, select_audio_stream
from rtaudio.sources.base import Report

#: URL schemes a :class:`UrlSource` accepts (HLS playlists are served over http/https).
SCHEMES = ("http", "https", "rtsp", "rtsps", "rtmp", "rtmps", "rtmpt", "rtmpts", "udp", "rtp")

#: The only FFmpeg protocols a stream (and every playlist, segment or key it names) may open.
#: ``tls``: https/rtsps/rtmps; ``crypto``: AES-128 HLS segments; ``httpproxy``: https through a proxy;
#: ``ffrtmphttp``: rtmpt; ``rtp``/``srtp``/``udp``: rtsp media and udp streams.
PROTOCOL_WHITELIST = "http,https,tls,tcp,udp,rtp,srtp,rtmp,rtmps,rtmpt,rtmpts,ffrtmphttp,crypto,httpproxy"

_RESERVED_OPTIONS = ("protocol_whitelist", "protocol_blacklist")

#: How far before the resume point a reconnection seeks (s); the samples in between are decoded and dropped.
SEEK_PREROLL_S = 0.5


def check_url(url) -> str:
    """Return ``url`` if its scheme is one of :data:`SCHEMES`, else raise :class:`ParameterError`."""
    if not isinstance(url, str) or not url.strip():
        raise ParameterError(f"url={url!r} must be a non-empty string such as 'http://host/stream.mp3'")
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in SCHEMES:
        hint = "; give a local file as a plain path, not a URL" if scheme == "file" else ""
        raise ParameterError(
            f"url {redact(url)!r} has unsupported scheme {scheme + '://' if scheme else '(none)'}; "
            f"accepted schemes: {', '.join(SCHEMES)}{hint}"
        )
    return url.strip()


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and events)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url


def _positive(name: str, value, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{name}={value!r} must be a number {bound} (seconds)")
    return float(value)


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name}={value!r} must be an integer >= 0")
    return int(value)


class _CannotResume(Exception):
    """A seek did not land at or before the sample to resume at (or frames carry no timestamps)."""


class UrlSource(AvSource):
    """An audio stream at a URL, opened by FFmpeg with a protocol whitelist, time-outs and reconnection.

    Parameters
    ----------
    url : str
        ``http``/``https`` (files, Icecast/Shoutcast radio, HLS ``.m3u8`` playlists), ``rtsp``/``rtsps``,
        ``rtmp``/``rtmps``/``rtmpt``/``rtmpts``, ``udp`` or ``rtp``.
    stream : int >= 0
        Which audio stream (0 = first).
    realtime : bool
        Pace the output at real time (for a file served over http played "live").
    open_timeout_s : float > 0, s
        Longest wait for the stream to open (connect, headers, probing).
    read_timeout_s : float > 0, s
        Longest wait for any one read; also FFmpeg's ``rw_timeout`` (and rtsp's socket ``timeout``).
    max_retries : int >= 0
        Reconnections tried in a row, without any new audio in between, before giving up.
    backoff_s : float >= 0, s
        Wait before the first reconnection; doubled for each further one ...
    backoff_max_s : float >= backoff_s, s
        ... up to this.
    open_retries : int >= 0
        Extra tries to open the stream at construction (with the same backoff, nothing reported).
        0 (default): an unreachable URL fails at once.
    options : dict of str, optional
        Extra FFmpeg options (e.g. ``{"rtsp_transport": "tcp"}``); the protocol whitelist cannot be changed.

    Attributes
    ----------
    live : bool
        True when the stream has no known duration (radio, udp, live HLS): the engine then drops
        the oldest audio when it falls behind, and a reconnection continues from "now" instead of
        resuming where the stream stopped.
    seekable : bool
        A reconnection seeks back to where it stopped (known duration, not live); where the seek
        fails, the stream is decoded again from the start, skipping what was already produced.

    Raises
    ------
    ParameterError
        Unsupported scheme or bad parameter.
    StreamError
        The stream cannot be opened (refused, unresolvable host, HTTP error, time-out), naming the URL
        and the reason.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: int = 0,
        realtime: bool = False,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 10.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        open_retries: int = 0,
        options: dict | None = None,
    ):
        url = check_url(url)
        self.open_timeout_s = _positive("open_timeout_s", open_timeout_s)
        self.read_timeout_s = _positive("read_timeout_s", read_timeout_s)
        self.max_retries = _count("max_retries", max_retries)
        self.backoff_s = _positive("backoff_s", backoff_s, allow_zero=True)
        self.backoff_max_s = _positive("backoff_max_s", backoff_max_s, allow_zero=True)
        if self.backoff_max_s < self.backoff_s:
            raise ParameterError(f"backoff_max_s={backoff_max_s!r} must be >= backoff_s={backoff_s!r} (seconds)")
        self.open_retries = _count("open_retries", open_retries)
        extra = dict(options or {})
        for key in _RESERVED_OPTIONS:
            if key in extra:
                raise ParameterError(f"options[{key!r}] cannot be set: the protocol whitelist of a URL source is fixed")
        self.url = url
        self._scheme = urlsplit(url).scheme.lower()
        self._should_stop: Callable[[], bool] = lambda: False
        self._origin_s: float | None = None  # timestamp (s) of the first decoded frame = sample 0
        super().__init__(
            redact(url),
            stream=stream,
            realtime=realtime,
            options=self._ffmpeg_options(extra),
            timeout=(self.open_timeout_s, self.read_timeout_s),
        )
        self.live = self.duration_s is None
        self.seekable = not self.live

    # -- opening -------------------------------------------------------------------
    def _ffmpeg_options(self, extra: dict) -> dict:
        opts = {"protocol_whitelist": PROTOCOL_WHITELIST, "rw_timeout": str(int(self.read_timeout_s * 1e6))}
        if self._scheme in ("rtsp", "rtsps"):
            opts["timeout"] = str(int(self.read_timeout_s * 1e6))  # socket I/O time-out, µs
        opts.update({str(k): str(v) for k, v in extra.items()})
        return opts

    def _open(self):
        """Open at construction: at once, or with ``open_retries`` further tries."""
        for attempt in range(self.open_retries + 1):
            try:
                return self._open_once()
            except StreamError:
                if attempt == self.open_retries:
                    raise
                time.sleep(self._delay(attempt + 1))

    def _open_once(self):
        av = _av()
        try:
            return av.open(self.url, options=dict(self._options), timeout=self._timeout)
        except av.error.FFmpegError as exc:
            raise StreamError(f"cannot open stream {redact(self.url)!r}: {self._reason(exc, opening=True)}") from None

    def _reason(self, exc, opening: bool) -> str:
        """A short human reason for an FFmpeg error raised while opening or while reading."""
        av = _av()
        if isinstance(exc, av.error.ExitError) and opening:  # PyAV's open time-out
            return f"no answer within {self.open_timeout_s:g} s"
        if isinstance(exc, (av.error.ExitError, av.error.TimeoutError)):  # PyAV's read / FFmpeg's rw_timeout
            return f"no data within {self.read_timeout_s:g} s"
        reason = getattr(exc, "strerror", None) or str(exc)
        if getattr(exc, "errno", None) == 5 and self._scheme != "udp":  # EIO: FFmpeg's answer to a DNS failure
            host = urlsplit(self.url).hostname
            if host:
                try:
                    socket.getaddrinfo(host, None)
                except OSError as err:
                    return f"cannot resolve host {host!r} ({err.strerror or err})"
        return reason

    def _reopen(self) -> None:
        self.close()
        self._container = self._open_once()
        self._audio = select_audio_stream(self._container, self._stream_index, repr(self.description))

    # -- reading -------------------------------------------------------------------
    def run(self, ring: Ring, should_stop: Callable[[], bool], report: Report) -> None:
        self._should_stop = should_stop  # lets a backoff wait end early when the engine stops
        super().run(ring, should_stop, report)

    def _delay(self, failures: int) -> float:
        """Backoff before reconnection number ``failures`` (1-based), s."""
        return min(self.backoff_s * 2.0 ** (failures - 1), self.backoff_max_s)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds``; False if the engine asked to stop meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._should_stop():
                return False
            time.sleep(min(left, 0.05))
        return not self._should_stop()

    def _ended_early(self, produced: int) -> str | None:
        """Why an end of stream at ``produced`` samples is a break (known duration not reached), or None."""
        if self.live or not self.duration_s:
            return None
        if produced / self.rate < 0.98 * self.duration_s - 0.05:  # same tolerance as AvSource.check_complete
            return f"stream ended at {produced / self.rate:.2f} s of {self.duration_s:.2f} s"
        return None

    def blocks(self, report: Report) -> Iterator[np.ndarray]:
        """Decode the stream; on a break report a fault, reconnect with backoff and continue.

        Yields float32 (n, channels) blocks whose concatenation is the stream without gaps or repeats
        around a reconnection (for a live stream: without repeats; what was broadcast meanwhile is lost).
        """
        av = _av()
        produced = 0  # samples yielded: the source clock
        failures = 0  # reconnections in a row without new audio
        head: list[np.ndarray] = []  # the stream's first second, to notice a reconnection that starts it over
        reconnected = False
        while True:
            try:
                blocks = self._decode_from(produced)
                if reconnected and self.live:
                    blocks = self._unless_started_over(blocks, head)
                    if blocks is None:  # a finished file served again from its start: it has ended
                        self.check_complete(produced)
                        return
                for block in blocks:
                    if not reconnected and produced < self.rate:
                        head.append(block[: self.rate - produced].copy())
                    if failures:
                        report(SourceRecovered(produced, failures))
                        failures = 0
                    produced += len(block)
                    yield block
                error = self._ended_early(produced)
            except av.error.FFmpegError as exc:
                error = f"read failed at {produced / self.rate:.2f} s: {self._reason(exc, opening=False)}"
            except RtaudioError as exc:  # a reopen inside the decoder (seek fallback) failed
                error = str(exc)
            if error is None:  # the stream ended where it should
                self.check_complete(produced)
                return
            while True:  # reconnect
                failures += 1
                if failures > self.max_retries:
                    report(SourceFault(produced, error, failures, 0.0))
                    raise StreamError(
                        f"stream {self.description!r} broke at {produced / self.rate:.2f} s and did not come back "
                        f"after {self.max_retries} reconnection(s); last error: {error}; "
                        "the audio before that point was analysed"
                    )
                delay = self._delay(failures)
                report(SourceFault(produced, error, failures, delay))
                if not self._wait(delay):
                    return
                try:
                    self._reopen()
                    reconnected = True
                    break
                except (av.error.FFmpegError, RtaudioError) as exc:
                    error = str(exc)

    def _unless_started_over(self, blocks: Iterator[np.ndarray], head: list[np.ndarray]) -> Iterator[np.ndarray] | None:
        """``blocks`` of a reconnected live stream, or None when they begin with the stream's first second.

        An HTTP file served without ``Content-Length`` looks live; when its server closes after the
        last byte, FFmpeg reports a read error and the reconnection gets the file again from its start.
        A real live stream goes on instead.  A silent first second proves nothing and is not compared.
        """
        ref = np.concatenate(head) if head else np.zeros((0, self.channels), np.float32)
        if len(ref) == 0 or not np.any(np.abs(ref) > 1e-6):
            return blocks
        got, n = [], 0
        for block in blocks:
            got.append(block)
            n += len(block)
            if n >= len(ref):
                break
        new = np.concatenate(got) if got else ref[:0]
        m = min(len(new), len(ref))
        if m > 0 and np.array_equal(new[:m], ref[:m]):
            return None
        return itertools.chain(got, blocks)

    def _decode_from(self, start: int) -> Iterator[np.ndarray]:
        """Blocks of the open container from sample ``start`` on (a live stream: from wherever it is now).

        A stream of known length is positioned by seeking to ``start`` and trimming the first frames by
        their timestamps; where that is impossible, it is reopened and decoded from the beginning,
        skipping ``start`` samples.
        """
        if start == 0 or self.live:  # a live stream goes on from "now": nothing to skip
            yield from self._decode(start, start)
            return
        if self.seekable and self._origin_s is not None:
            av = _av()
            tb = self._audio.time_base
            # seek a little before: decoders need a few packets to settle (Vorbis overlap, MP3 reservoir),
            # and a demuxer may land on the packet after the target
            seconds = max(self._origin_s + start / self.rate - SEEK_PREROLL_S, self._origin_s)
            target = seconds * tb.denominator / tb.numerator
            try:
                self._container.seek(math.floor(target), stream=self._audio, backward=True)
                seeked = True
            except (av.error.ExitError, av.error.TimeoutError):
                raise  # a dead connection, not an unseekable stream
            except av.error.FFmpegError:
                seeked = False
            if seeked:
                try:
                    yield from self._decode(start, None)
                    return
                except _CannotResume:  # raised before anything was yielded
                    pass
            self._reopen()
        yield from self._decode(start, 0)

    def _decode(self, start: int, pos: int | None) -> Iterator[np.ndarray]:
        """Decode, dropping samples before ``start``; ``pos`` is the index of the first decoded sample
        (None: read it from the first frame's timestamp, after a seek)."""
        av = _av()
        resampler = av.AudioResampler(format="flt", layout=self.layout, rate=self.rate)
        channels = self.channels
        first = True

        def trim(out) -> np.ndarray | None:
            nonlocal pos
            block = out.to_ndarray().reshape(-1, channels)
            skip = min(max(start - pos, 0), len(block))
            pos += len(block)
            return block[skip:] if skip < len(block) else None

        for packet in self._container.demux(self._audio):
            for frame in packet.decode():
                if first:
                    first = False
                    t = frame.time
                    if self._origin_s is None and start == 0 and pos == 0 and t is not None:
                        self._origin_s = t
                    if pos is None:
                        if t is None or self._origin_s is None:
                            raise _CannotResume("frames carry no timestamps")
                        pos = round((t - self._origin_s) * self.rate)
                        if pos > start:
                            raise _CannotResume(f"seek landed at sample {pos}, after {start}")
                for out in resampler.resample(frame):
                    block = trim(out)
                    if block is not None:
                        yield block
        if pos is None:  # nothing decoded after the seek
            return
        for out in resampler.resample(None):
            block = trim(out)
            if block is not None:
                yield block

    def check_complete(self, decoded: int) -> None:
        """Raise :class:`StreamError` if the stream gave no audio at all."""
        if decoded == 0:
            raise StreamError(f"stream {self.description!r} ended without any audio samples")

    def close(self) -> None:
        """Close the connection; a broken one may fail to close cleanly, and is dropped anyway."""
        with contextlib.suppress(_av().error.FFmpegError, OSError):
            self._container.close()
