"""Level meters: sample peak, RMS, EBU R128 momentary / short-term loudness, and integrated loudness.

Loudness follows ITU-R BS.1770-4 / EBU R128:

* every channel is K-weighted (a high-shelf pre-filter and the RLB high-pass),
  see :func:`rtaudio.dsp.kweighting.k_weighting_sos`;
* the loudness of an interval is ``-0.691 + 10 log10(sum_ch G_ch * mean_square_ch)`` LUFS,
  with the channel weights ``G`` of :class:`LevelsParams`;
* momentary loudness covers the last 400 ms, short-term the last 3 s;
* integrated loudness gates 400 ms blocks taken every 100 ms (75 % overlap):
  blocks at or below -70 LUFS are dropped (absolute gate), then blocks at or
  below ``(loudness of the remaining blocks) - 10 LU`` (relative gate); the
  integrated loudness is that of the blocks left.

The stage cuts its input into hops of ``hop_s`` (0.1 s by default) on the
source clock and reports one :class:`~rtaudio.events.Levels` per hop.  All
arithmetic runs sample by sample in a fixed order, with the filter state kept
between blocks, so the events are bit-identical whatever block sizes the
input arrives in.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass

import numba
import numpy as np

from rtaudio.dsp.kweighting import k_weighting_sos
from rtaudio.errors import InputError, ParameterError
from rtaudio.events import Event, Levels, Loudness
from rtaudio.stages.base import Frame, Stage, check_sample_rate

#: Gating block length (s), BS.1770-4.
BLOCK_S = 0.4
#: Distance between gating blocks (s): 75 % overlap.
STEP_S = 0.1
#: Short-term loudness window (s), EBU R128.
SHORT_TERM_S = 3.0
#: Absolute gate (LUFS).
ABSOLUTE_GATE_LUFS = -70.0
#: Relative gate (LU below the loudness of the blocks above the absolute gate).
RELATIVE_GATE_LU = -10.0
#: Weight of a surround channel, BS.1770-4 table 3 (+1.5 dB).
SURROUND_WEIGHT = 1.41


def _whole(ratio: float) -> int | None:
    """``ratio`` as an integer if it is one within float rounding, else None."""
    n = round(ratio)
    return n if n >= 1 and abs(ratio - n) <= 1e-9 * n else None


@dataclass(frozen=True)
class LevelsParams:
    """Parameters of :class:`LevelsStage`.

    Attributes
    ----------
    hop_s : float > 0, seconds, default 0.1
        Meter update interval: one :class:`~rtaudio.events.Levels` event per hop.
        It must divide the 0.1 s gating step into whole hops (0.1, 0.05, 0.025,
        0.02, 0.01, ...), so that the 400 ms momentary window, the 3 s short-term
        window and the 400 ms / 100 ms gating blocks are whole numbers of hops.
        Where ``hop_s * sample_rate`` is not a whole number of samples (11025 Hz:
        1102.5) hops alternate between the two nearest lengths, on the exact time grid.
    channel_weights : tuple of float >= 0, or None, default None
        Loudness weight ``G`` of each channel.  ``None`` applies BS.1770-4 to the
        channel count: mono and stereo weigh 1.0 per channel; with more than two
        channels the order is taken to be 5.1's ``L R C LFE Ls Rs``: L, R, C weigh
        1.0, the LFE (channel 3) 0.0 (it is not measured), and every channel from
        4 on (surrounds) 1.41.  A 5.0 source without LFE (``L R C Ls Rs``, the order
        pyloudnorm assumes) needs ``channel_weights=(1, 1, 1, 1.41, 1.41)``.
    tail_block : bool, default True
        How the integrated loudness treats the end of input, which rarely falls on
        a 100 ms step.  ``True`` does what pyloudnorm 0.2 does: it counts
        ``round((T - 0.4) / 0.1) + 1`` blocks for an input of ``T`` s (numpy's
        round, halves to even), so when the input stops 50 ms or more into a step
        one more block is gated, starting at the next step and read past the end
        as zeros (its mean square is divided by the full 400 ms).  ``False`` gates
        complete 400 ms blocks only, as libebur128 and FFmpeg's ebur128 do.  On
        long inputs the two differ by a few thousandths of a LU; on clips of about
        3 s by up to about 0.15 LU (dev corpus: 0.13 LU on a 3.15 s speech clip).
    """

    hop_s: float = 0.1
    channel_weights: tuple[float, ...] | None = None
    tail_block: bool = True

    def __post_init__(self):
        hop_s = self.hop_s
        if (
            not isinstance(hop_s, (int, float))
            or isinstance(hop_s, bool)
            or not math.isfinite(hop_s)
            or hop_s <= 0
            or _whole(STEP_S / hop_s) is None
        ):
            raise ParameterError(
                f"hop_s={hop_s!r} must be > 0 and divide the 0.1 s gating step (and so the 0.4 s block) "
                "into whole hops, e.g. 0.1, 0.05, 0.02, 0.01"
            )
        w = self.channel_weights
        if w is not None:
            try:
                w = tuple(float(g) for g in w)
            except (TypeError, ValueError):
                raise ParameterError(
                    f"channel_weights={self.channel_weights!r} must be a sequence of numbers >= 0, or None"
                ) from None
            if not w or not all(math.isfinite(g) and g >= 0 for g in w) or sum(w) <= 0:
                raise ParameterError(
                    f"channel_weights={self.channel_weights!r} must be non-empty, each finite and >= 0, "
                    "with at least one > 0"
                )
            object.__setattr__(self, "channel_weights", w)
        if not isinstance(self.tail_block, (bool, np.bool_)):
            raise ParameterError(f"tail_block={self.tail_block!r} must be True or False")

    def weights(self, channels: int) -> tuple[float, ...]:
        """Channel weights ``G`` for ``channels`` channels (see ``channel_weights``).

        Raises
        ------
        ParameterError
            ``channel_weights`` was given with a length other than ``channels``.
        """
        if self.channel_weights is not None:
            if len(self.channel_weights) != channels:
                raise ParameterError(
                    f"channel_weights={self.channel_weights!r} has {len(self.channel_weights)} values; "
                    f"the source has channels={channels}"
                )
            return self.channel_weights
        if channels <= 2:
            return (1.0,) * channels
        return tuple(1.0 if c < 3 else 0.0 if c == 3 else SURROUND_WEIGHT for c in range(channels))


@numba.njit(cache=True, nogil=True)
def _meter(x, sos, zi, acc, state, out_k, out_raw, out_peak, out_len):  # pragma: no cover - compiled
    """Filter ``x`` (n, ch) and accumulate per-hop sums, sample by sample.

    State, updated in place: ``zi`` (2, ch, 2) transposed-direct-form-II filter
    state; ``acc`` (ch + 2,): K-weighted sum of squares per channel, unweighted
    sum of squares (all channels), peak |x|; ``state`` int64 ``[count, k, rate,
    den]``: samples in the current hop, hops completed, and the hop grid (hop
    ``k`` ends at sample ``(k + 1) * rate // den``).  Each completed hop writes row
    ``h`` of ``out_k`` (ch,), ``out_raw``, ``out_peak`` and its length ``out_len``.
    Returns the number of hops completed.
    """
    n, ch = x.shape
    if ch == 1:
        return _meter_mono(x, sos, zi, acc, state, out_k, out_raw, out_peak, out_len)
    count, k, rate, den = state[0], state[1], state[2], state[3]
    target = ((k + 1) * rate) // den - (k * rate) // den
    nh = 0
    for t in range(n):
        for c in range(ch):
            v = np.float64(x[t, c])
            a = abs(v)
            if a > acc[ch + 1]:
                acc[ch + 1] = a
            acc[ch] += v * v
            y = v
            for s in range(2):
                out = sos[s, 0] * y + zi[s, c, 0]
                zi[s, c, 0] = sos[s, 1] * y - sos[s, 4] * out + zi[s, c, 1]
                zi[s, c, 1] = sos[s, 2] * y - sos[s, 5] * out
                y = out
            acc[c] += y * y
        count += 1
        if count == target:
            for c in range(ch):
                out_k[nh, c] = acc[c]
                acc[c] = 0.0
            out_raw[nh] = acc[ch]
            out_peak[nh] = acc[ch + 1]
            out_len[nh] = target
            acc[ch] = 0.0
            acc[ch + 1] = 0.0
            count = 0
            k += 1
            target = ((k + 1) * rate) // den - (k * rate) // den
            nh += 1
    state[0] = count
    state[1] = k
    return nh


@numba.njit(cache=True, nogil=True)
def _meter_mono(x, sos, zi, acc, state, out_k, out_raw, out_peak, out_len):  # pragma: no cover - compiled
    """:func:`_meter` for one channel, the same arithmetic in the same order with the state in locals
    (registers) instead of arrays: about twice as fast, bit-identical."""
    n = x.shape[0]
    count, k, rate, den = state[0], state[1], state[2], state[3]
    target = ((k + 1) * rate) // den - (k * rate) // den
    b00, b01, b02, a01, a02 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b10, b11, b12, a11, a12 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    z00, z01, z10, z11 = zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1]
    ksum, raw, peak = acc[0], acc[1], acc[2]
    nh = 0
    for t in range(n):
        v = np.float64(x[t, 0])
        a = abs(v)
        if a > peak:
            peak = a
        raw += v * v
        y = b00 * v + z00
        z00 = b01 * v - a01 * y + z01
        z01 = b02 * v - a02 * y
        out = b10 * y + z10
        z10 = b11 * y - a11 * out + z11
        z11 = b12 * y - a12 * out
        ksum += out * out
        count += 1
        if count == target:
            out_k[nh, 0] = ksum
            out_raw[nh] = raw
            out_peak[nh] = peak
            out_len[nh] = target
            ksum = 0.0
            raw = 0.0
            peak = 0.0
            count = 0
            k += 1
            target = ((k + 1) * rate) // den - (k * rate) // den
            nh += 1
    zi[0, 0, 0], zi[0, 0, 1], zi[1, 0, 0], zi[1, 0, 1] = z00, z01, z10, z11
    acc[0], acc[1], acc[2] = ksum, raw, peak
    state[0] = count
    state[1] = k
    return nh


def _db(power: float) -> float:
    """``10 log10(power)``; -inf for 0 (no warning)."""
    return 10.0 * math.log10(power) if power > 0 else -math.inf


def _lufs(mean_square: float) -> float:
    """Loudness (LUFS) of a channel-weighted mean square."""
    return -0.691 + _db(mean_square)


def gated_loudness(blocks: np.ndarray) -> float:
    """Integrated loudness (LUFS) of gating blocks, BS.1770-4 eq. 5-7.

    Parameters
    ----------
    blocks : ndarray (n,) float64
        Channel-weighted mean square ``sum_ch G_ch * z_ch`` of each 400 ms block.

    Returns
    -------
    float, LUFS
        ``-inf`` when no block passes the absolute gate (silence, or fewer than one block).
    """
    blocks = np.asarray(blocks, dtype=np.float64)
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10.0 * np.log10(blocks)
    kept = blocks[loud > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return -math.inf
    relative = _lufs(float(kept.mean())) + RELATIVE_GATE_LU
    kept = blocks[(loud > ABSOLUTE_GATE_LUFS) & (loud > relative)]
    return _lufs(float(kept.mean()))


class LevelsStage(Stage):
    """Peak, RMS and EBU R128 loudness meters, one :class:`~rtaudio.events.Levels` per hop.

    Each hop (``params.hop_s``, 0.1 s by default) gives ``Levels(t, peak_dbfs,
    rms_dbfs, momentary_lufs, short_term_lufs)``:

    * ``t``: index just past the hop's last sample (samples, source clock);
    * ``peak_dbfs``: largest ``|x|`` over the hop, all channels (dBFS, sample peak);
    * ``rms_dbfs``: unweighted RMS over the hop, all channels together (dBFS;
      a full-scale sine reads -3.01);
    * ``momentary_lufs``: loudness of the last 400 ms (LUFS);
    * ``short_term_lufs``: loudness of the last 3 s (LUFS).

    Hop ``k`` (from 0) ends ``floor((k + 1) * hop_s * sample_rate)`` samples after
    the start, so where ``hop_s * sample_rate`` is not a whole number (11025 Hz:
    1102.5) hops alternate in length and never drift off the time grid.  Until
    400 ms (3 s) of audio have arrived, the momentary (short-term) value covers
    the hops there are so far, not zero padding.  Digital silence reads ``-inf``
    everywhere (the JSONL writer prints -999).

    :meth:`flush` returns one :class:`~rtaudio.events.Loudness`: the integrated
    loudness (BS.1770-4 gating, see :func:`gated_loudness`) over the 400 ms
    blocks at 100 ms steps, and the largest sample peak seen (dBFS).  A
    trailing partial hop at the end of input is not a complete block: it counts
    for the peak, gives no ``Levels`` event, and enters the integrated loudness
    only through pyloudnorm's zero-padded last block (``LevelsParams.tail_block``,
    on by default; off: complete blocks only).  Input shorter than one block gives
    ``integrated_lufs = -inf`` (pyloudnorm raises).  Memory grows by one float
    per 100 ms (about 290 kB per hour).

    A gap in the frame index (dropped audio) restarts the meters at the new
    index, as if the stream began there: the partial hop, the filter state and
    the momentary / short-term history are dropped; blocks already complete stay
    in the integrated loudness, and no block spans the gap.

    Parameters
    ----------
    params : LevelsParams
    sample_rate : int > 0, Hz
        Rate of the frames (the stage runs at the source rate).
    channels : int > 0
        Channels of the frames.

    Raises
    ------
    ParameterError
        A bad ``sample_rate`` or ``channels``, a hop shorter than one sample, or
        ``channel_weights`` not matching ``channels``.
    """

    name = "levels"
    emits = (Levels, Loudness)
    rate = None

    def __init__(self, params: LevelsParams = LevelsParams(), *, sample_rate: int, channels: int):
        check_sample_rate(sample_rate)
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels <= 0:
            raise ParameterError(f"channels={channels!r} must be a positive integer")
        self.params = params
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        per_step = _whole(STEP_S / params.hop_s)
        self._den = int(round(1 / STEP_S)) * per_step  # hops per second: hop k ends at (k + 1) * rate // den
        if self.sample_rate < self._den:
            raise ParameterError(
                f"hop_s={params.hop_s} at sample_rate={sample_rate} Hz is under one sample; "
                "it must be at least 1 / sample_rate s"
            )
        self._weights = params.weights(self.channels)
        self._step_hops = per_step  # hops per 100 ms gating step
        self._block_hops = 4 * per_step  # hops per 400 ms block
        self._short_hops = _whole(SHORT_TERM_S / STEP_S) * per_step  # hops per 3 s
        self._sos = k_weighting_sos(self.sample_rate)
        self.reset()
        self._load_kernel()

    def _load_kernel(self) -> None:
        """Load the compiled meter now (an empty block), not in the first block; the state is unchanged."""
        ch = self.channels
        empty = np.zeros(0, np.float64)
        _meter(
            np.zeros((0, ch), np.float32),
            self._sos,
            self._zi,
            self._acc,
            self._state,
            np.zeros((0, ch)),
            empty,
            empty,
            np.zeros(0, np.int64),
        )

    @property
    def hop_samples(self) -> float:
        """Mean hop length (samples): ``hop_s * sample_rate``."""
        return self.sample_rate / self._den

    def _edge(self, k: int) -> int:
        """Samples from the (re)start to the end of hop ``k - 1`` (the start of hop ``k``)."""
        return (k * self.sample_rate) // self._den

    def reset(self) -> None:
        """Forget all state, as if newly built."""
        self._blocks = array("d")  # weighted mean square of each complete 400 ms block
        self._max_peak = 0.0
        self._next: int | None = None  # index of the next expected sample
        self._restart(0)

    def _restart(self, index: int) -> None:
        """Start the hop accumulation over at ``index`` (new stream, or after a gap)."""
        ch = self.channels
        self._origin = index
        self._zi = np.zeros((2, ch, 2))
        self._acc = np.zeros(ch + 2)
        self._state = np.array([0, 0, self.sample_rate, self._den], dtype=np.int64)
        # Per complete hop: channel-weighted K sum of squares, and its length (samples).
        self._history: deque[float] = deque(maxlen=self._short_hops)
        self._lengths: deque[int] = deque(maxlen=self._short_hops)

    def _mean_square(self, hops: int) -> float:
        """Channel-weighted K mean square of the last ``hops`` hops (or of as many as there are)."""
        n = min(hops, len(self._history))
        total, length = 0.0, 0
        for i in range(len(self._history) - n, len(self._history)):
            total += self._history[i]
            length += self._lengths[i]
        return total / length

    def process(self, frame: Frame) -> list[Event]:
        """Meter one block; return a :class:`~rtaudio.events.Levels` for each hop it completes.

        Parameters
        ----------
        frame : Frame
            ``samples`` (n, channels) float32 in [-1, 1], any n >= 0.

        Raises
        ------
        InputError
            The frame's channel count is not the stage's.
        """
        x = frame.samples
        if x.ndim == 1 and self.channels == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise InputError(f"frame samples have shape {x.shape}; the levels stage expects (n, {self.channels})")
        if len(x) == 0:
            return []
        if self._next is None or frame.index != self._next:
            self._restart(frame.index)
        self._next = frame.index + len(x)
        x = np.ascontiguousarray(x, dtype=np.float32)
        most = (int(self._state[0]) + len(x)) // (self.sample_rate // self._den) + 1
        out_k = np.empty((most, self.channels))
        out_raw = np.empty(most)
        out_peak = np.empty(most)
        out_len = np.empty(most, dtype=np.int64)
        hops = int(self._state[1])
        nh = _meter(x, self._sos, self._zi, self._acc, self._state, out_k, out_raw, out_peak, out_len)
        self._max_peak = max(self._max_peak, float(self._acc[-1]), float(out_peak[:nh].max(initial=0.0)))
        events: list[Event] = []
        w = self._weights
        for h in range(nh):
            s = 0.0
            for c in range(self.channels):
                s += w[c] * float(out_k[h, c])
            length = int(out_len[h])
            self._history.append(s)
            self._lengths.append(length)
            hops += 1
            momentary = self._mean_square(self._block_hops)
            if hops >= self._block_hops and hops % self._step_hops == 0:
                self._blocks.append(momentary)  # a complete 400 ms gating block ends here
            peak = float(out_peak[h])
            events.append(
                Levels(
                    t=self._origin + self._edge(hops),
                    peak_dbfs=20.0 * math.log10(peak) if peak > 0 else -math.inf,
                    rms_dbfs=_db(float(out_raw[h]) / (length * self.channels)),
                    momentary_lufs=_lufs(momentary),
                    short_term_lufs=_lufs(self._mean_square(self._short_hops)),
                )
            )
        return events

    def _tail(self) -> list[float]:
        """pyloudnorm's extra last block, zero-padded past the end of input (see ``LevelsParams.tail_block``)."""
        if not self.params.tail_block or self._next is None:
            return []
        hops, partial = int(self._state[1]), int(self._state[0])
        seconds = (self._edge(hops) + partial) / self.sample_rate  # since the last (re)start
        if seconds < BLOCK_S:
            return []
        want = int(np.round((seconds - BLOCK_S) / STEP_S)) + 1  # pyloudnorm's block count
        have = (hops - self._block_hops) // self._step_hops + 1 if hops >= self._block_hops else 0
        if want != have + 1:
            return []
        first = (want - 1) * self._step_hops  # first hop of the extra block
        inside = min(hops - first, len(self._history))  # its complete hops
        total = 0.0
        for i in range(len(self._history) - inside, len(self._history)):
            total += self._history[i]
        for c in range(self.channels):
            total += self._weights[c] * float(self._acc[c])
        return [total / (self._edge(first + self._block_hops) - self._edge(first))]

    def integrated_lufs(self) -> float:
        """Integrated loudness (LUFS) of the input so far, as if it ended now; ``-inf`` if nothing passes the gates."""
        blocks = np.frombuffer(self._blocks, dtype=np.float64) if self._blocks else np.zeros(0)
        return gated_loudness(np.concatenate([blocks, self._tail()]))

    def flush(self) -> list[Event]:
        """End of input: the :class:`~rtaudio.events.Loudness` summary.

        ``t`` is the index just past the last sample seen (0 if none).  The state
        is kept (call :meth:`reset` to start over).
        """
        peak = self._max_peak
        return [
            Loudness(
                t=self._next if self._next is not None else 0,
                integrated_lufs=self.integrated_lufs(),
                max_peak_dbfs=20.0 * math.log10(peak) if peak > 0 else -math.inf,
            )
        ]
