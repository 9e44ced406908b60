"""The stage protocol, the frame the pipeline hands over, and the hop framer stages share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.events import Event

#: Where a stage runs: in the caller's thread, in the slow lane's thread, or in that lane with its
#: recogniser in a child process (:class:`rtaudio.worker.ProcessProxy`; its decoding holds the GIL).
PLACEMENTS = ("inline", "thread", "process")


def check_placement(name: str, value) -> str:
    """``value`` if it is one of :data:`PLACEMENTS`, else :class:`ParameterError` naming ``name``."""
    if value not in PLACEMENTS:
        raise ParameterError(
            f"placement {name}={value!r} must be one of {', '.join(PLACEMENTS)} (inline: in the pipeline's "
            "thread; thread: in the slow lane, a thread of its own; process: in the slow lane with the "
            "recogniser in a child process, so its decoding cannot stall other threads)"
        )
    return value


@dataclass
class Frame:
    """A block of audio at a stage's rate.

    Attributes
    ----------
    index : int >= 0, samples
        Index of the first sample on the stage's clock (the source clock when the rates match).
    samples : ndarray (n, channels) float32
        The audio, all channels, in [-1, 1].
    rate : int > 0, Hz
    """

    index: int
    samples: np.ndarray
    rate: int
    _mono: np.ndarray | None = field(default=None, repr=False)

    @property
    def mono(self) -> np.ndarray:
        """Mean of the channels, (n,) float32."""
        if self._mono is None:
            s = self.samples
            self._mono = s[:, 0] if s.shape[1] == 1 else s.mean(axis=1, dtype=np.float32)
        return self._mono

    @property
    def end(self) -> int:
        return self.index + len(self.samples)


def check_sample_rate(sample_rate) -> int:
    """``sample_rate`` as an int, or :class:`ParameterError` naming it (every stage's constructor checks it)."""
    if isinstance(sample_rate, (bool, np.bool_)) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ParameterError(f"sample_rate={sample_rate!r} must be a positive integer (Hz)")
    return int(sample_rate)


def check_params(params, cls):
    """``params``, or ``cls()`` when it is None; :class:`ParameterError` unless it is a ``cls``."""
    params = cls() if params is None else params
    if not isinstance(params, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise ParameterError(f"params={params!r} must be {article} {cls.__name__}")
    return params


class Stage:
    """Base of all stages.

    ``rate`` is the sample rate the stage wants (``None``: the source's rate);
    the engine resamples once per distinct rate.  Times in returned events are
    sample indices on the stage's clock; the engine moves them onto the source
    clock.
    """

    name: str = "stage"
    rate: int | None = None
    #: Event types this stage wants from other stages; the pipeline runs it after those producing them
    #: (see :meth:`observe`).
    listens: tuple[type[Event], ...] = ()
    #: Event types this stage produces (the pipeline orders listeners after it).
    emits: tuple[type[Event], ...] = ()
    #: True for a stage whose calls can take long (a recogniser): the pipeline may run it in a lane of
    #: its own (see :class:`rtaudio.pipeline.Pipeline`).
    slow: bool = False

    def requires(self) -> tuple[type[Event], ...]:
        """Event types this stage cannot work without (with its parameters); the pipeline refuses to run
        it when no stage produces them."""
        return ()

    def requires_hint(self) -> str:
        """What else the user can do when :meth:`requires` is not met (appended to the error)."""
        return ""

    def observe(self, events: list[Event]) -> None:
        """Receive events of the types in ``listens`` that earlier stages produced.

        Called before :meth:`process` (or :meth:`flush`) of the same block; times are on
        the source clock. Events can describe audio this stage has already seen (a
        detector decides after the fact), so a listener buffers what it needs.
        """

    def process(self, frame: Frame) -> list[Event]:
        raise NotImplementedError

    def flush(self) -> list[Event]:
        """End of input: return what is still pending."""
        return []

    def reset(self) -> None:
        """Forget all state, as if newly built."""

    def close(self) -> None:
        """Free what the stage holds outside Python (ONNX sessions, child processes); idempotent."""


class HopFramer:
    """Cuts a stream of blocks of any size into fixed frames of ``size`` samples every ``hop`` samples.

    Frames depend only on the stream, never on how it was split into blocks,
    which is what makes streaming equal batch.  A gap in the input (dropped
    audio) restarts the framing at the new index.

    Parameters
    ----------
    size : int > 0, samples
        Frame length.
    hop : int in (0, size], samples
        Distance between frame starts.
    channels : int > 0
    """

    def __init__(self, size: int, hop: int, channels: int = 1):
        if not 0 < hop <= size:
            raise ParameterError(f"hop={hop} must be in (0, size={size}] samples")
        self.size, self.hop, self.channels = size, hop, channels
        self._buf = np.zeros((size + hop, channels), dtype=np.float32)
        self.reset()

    def reset(self, index: int = 0) -> None:
        self._fill = 0  # valid samples in _buf
        self._next = index  # source index of _buf[0]

    def push(self, index: int, samples: np.ndarray):
        """Yield ``(end_index, frame)`` for each complete frame; ``frame`` is a view valid until the next yield.

        ``samples`` is (n,) or (n, channels); ``end_index`` is the index just past the frame's last sample.
        """
        if samples.ndim == 1:
            samples = samples[:, None]
        if index != self._next + self._fill:  # gap: start over
            self.reset(index)
        pos, n = 0, len(samples)
        while pos < n:
            take = min(n - pos, self.size - self._fill)
            self._buf[self._fill : self._fill + take] = samples[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.size:
                yield self._next + self.size, self._buf[: self.size]
                keep = self.size - self.hop
                self._buf[:keep] = self._buf[self.hop : self.size]
                self._fill = keep
                self._next += self.hop

    def push_all(self, index: int, samples: np.ndarray) -> tuple[int, np.ndarray, int]:
        """All the frames a block completes at once, for a kernel that loops over them: ``(first_end, span, n)``.

        Frame ``i < n`` is ``span[i * hop : i * hop + size]`` and ends at index ``first_end + i * hop``;
        ``span`` is a new C-contiguous float32 array (samples held over from earlier blocks, then
        ``samples``), (m, channels).  The same frames as :meth:`push`, and the two can be mixed.
        """
        if samples.ndim == 1:
            samples = samples[:, None]
        if index != self._next + self._fill:  # gap: start over
            self.reset(index)
        fill = self._fill
        span = np.empty((fill + len(samples), self.channels), np.float32)
        span[:fill] = self._buf[:fill]
        span[fill:] = samples
        n = (len(span) - self.size) // self.hop + 1 if len(span) >= self.size else 0
        first_end = self._next + self.size
        rest = span[n * self.hop :]  # fewer than size samples
        self._buf[: len(rest)] = rest
        self._fill = len(rest)
        self._next += n * self.hop
        return first_end, span, n
