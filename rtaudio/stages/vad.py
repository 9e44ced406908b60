"""Speech gating: a cheap first gate (webrtcvad), a verifier music cannot fool (Silero VAD), hysteresis.

::

    16 kHz mono ──> 32 ms chunks ──> webrtcvad (~3 µs) ──pass──> Silero VAD (ONNX, ~150 µs) ──> p(speech)
                                         └──reject──> p = 0 (the verifier is not run)
    p per chunk ──> hysteresis (start/end thresholds, min speech/silence, pre-roll, hangover)
                ──> SpeechStart, SpeechEnd        (the padded segment: what speech-to-text hears)
    p per chunk ──> p >= interval_threshold inside a confirmed segment, edges moved back by interval_lag_s
                ──> SpeechSegment                 (the tight intervals: where the speech is)

webrtcvad alone marks noise and music as speech; Silero rejects them but costs
fifty times more. Only chunks the first gate passes (and the chunks shortly
after one it passed, see :attr:`VADParams.gate_hold_s`) reach the verifier, so
silence costs almost nothing. ``mode`` picks ``"both"`` (default),
``"webrtc"`` alone or ``"silero"`` alone (the verifier on every chunk).

The stage works on fixed 512-sample chunks (32 ms at 16 kHz, Silero's window)
cut by a :class:`~rtaudio.stages.base.HopFramer`, so its events do not depend
on how the input was split into blocks. Speech is decided after the fact (a
segment is confirmed once it has lasted ``min_speech_s``, ended once silence
has lasted ``min_silence_s``), so ``SpeechStart`` and ``SpeechEnd`` carry times
in the past: stages that listen to them buffer the audio they need.

Two kinds of interval come out. ``SpeechStart``/``SpeechEnd`` bound the
*padded* segment (pre-roll, hangover, pauses under ``min_silence_s`` bridged):
what the ``stt`` stage transcribes. ``SpeechSegment`` events are the *tight*
intervals inside it, one per run of chunks whose probability reaches
``interval_threshold`` (runs closer than ``interval_min_pause_s`` joined), with
both edges moved ``interval_lag_s`` earlier (Silero's probability rises and
falls about 20 ms after the speech does): where an editor should cut and where
the pauses between words are. They are reported with their segment's
``SpeechEnd``, and only for confirmed segments, so music is rejected exactly
as before.

The Silero model (``silero_vad.onnx``) is resolved by :mod:`rtaudio.models.silero` as
``silero-vad``: an explicit ``model_path``, ``$RTAUDIO_SILERO_VAD``, the user
cache, or the file inside the installed ``silero-vad`` wheel (install that
wheel with ``pip install --no-deps silero-vad``: its torch dependencies are not
needed, onnxruntime runs the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtaudio.errors import ModelError, ParameterError, require
from rtaudio.events import Event, SpeechEnd, SpeechSegment, SpeechStart
from rtaudio.models.silero import FIX as _SILERO_FIX
from rtaudio.models.silero import silero_model_path
from rtaudio.stages.base import Frame, HopFramer, Stage

#: Rate the VAD runs at (Hz): webrtcvad and Silero both take 16 kHz.
VAD_RATE = 16000
#: Silero's window at 16 kHz (samples): the stage's chunk, 32 ms.
CHUNK = 512
#: Samples of the previous chunk Silero sees in front of each window.
SILERO_CONTEXT = 64
MODES = ("both", "webrtc", "silero")


@dataclass(frozen=True)
class VADParams:
    """Parameters of :class:`VADStage`.

    Attributes
    ----------
    mode : {"both", "webrtc", "silero"}, default "both"
        ``both``: webrtcvad gates, Silero verifies what passes. ``webrtc``: webrtcvad
        alone (cheap; marks music and noise as speech). ``silero``: Silero on every chunk.
    aggressiveness : int in 0..3, default 1
        webrtcvad's mode: 0 passes the most, 3 the least. As a first gate it should
        miss no speech, so a low value; with ``mode="webrtc"`` a high one.
    webrtc_frame_ms : {10, 20, 30}, default 30, ms
        webrtcvad's frame; each 32 ms chunk is judged on its last ``512 // frame``
        frames (one 30 ms frame by default).
    gate_hold_s : float >= 0, default 0.2, seconds
        After the gate last passed a chunk, keep verifying for this long (speech has
        short quiet stretches webrtcvad rejects; the verifier's state stays warm).
    gate_reset_s : float >= 0, default 1.0, seconds
        When the gate reopens after being shut for longer than this, the verifier's
        recurrent state starts afresh (as for a new recording).
    start_threshold : float in (0, 1], default 0.5
        Probability at or above which speech begins.
    end_threshold : float in [0, start_threshold], default 0.35
        Probability below which speech may end (hysteresis).
    confirm_threshold : float in [start_threshold, 1], default 0.85
        A segment counts only once one of its chunks reached this probability:
        Silero gives speech 0.9-1.0 within a few chunks, while the music it is
        unsure of hovers around 0.4-0.75 (dev corpus, ``classes_1s/music``).
    min_speech_s : float >= 0, default 0.1, seconds
        Speech shorter than this is dropped; a segment is confirmed (``SpeechStart``)
        once it has lasted this long.
    min_silence_s : float >= 0, default 0.1, seconds
        Silence shorter than this does not split a segment.
    pre_roll_s : float >= 0, default 0.03, seconds
        A segment starts this long before its first speech chunk (never before the
        end of the previous segment nor before 0).
    hangover_s : float >= 0, default 0.0, seconds
        A segment ends this long after its last speech chunk.
    interval_threshold : float in [end_threshold, 1], default 0.5
        The reported intervals (``SpeechSegment``) are the runs of chunks at or above
        this probability inside a confirmed segment (with ``mode="webrtc"``: webrtcvad's
        speech fraction).
    interval_lag_s : float >= 0, default 0.02, seconds
        Both edges of a reported interval are moved this much earlier (Silero's
        probability lags the speech; not applied with ``mode="webrtc"``). Chosen on the
        pooled dev-corpus total (docs/speech.md).
    interval_min_pause_s : float >= 0, default 0.0, seconds
        Reported intervals closer than this are joined (0: every gap of a chunk or
        more, i.e. 32 ms, is reported as a pause).
    model_path : str or None, default None
        The Silero ONNX file or a folder holding it (None: the model registry's lookup).

    The defaults of the hysteresis are Silero's own (``get_speech_timestamps``) moved
    slightly towards tighter intervals on the dev corpus (see docs/speech.md): the
    intervals hug the speech; stages that need a margin (speech-to-text) add their own.
    """

    mode: str = "both"
    aggressiveness: int = 1
    webrtc_frame_ms: int = 30
    gate_hold_s: float = 0.2
    gate_reset_s: float = 1.0
    start_threshold: float = 0.5
    end_threshold: float = 0.35
    confirm_threshold: float = 0.85
    min_speech_s: float = 0.1
    min_silence_s: float = 0.1
    pre_roll_s: float = 0.03
    hangover_s: float = 0.0
    interval_threshold: float = 0.5
    interval_lag_s: float = 0.02
    interval_min_pause_s: float = 0.0
    model_path: str | None = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise ParameterError(f"vad.mode={self.mode!r} must be one of {', '.join(MODES)}")
        if self.aggressiveness not in (0, 1, 2, 3) or isinstance(self.aggressiveness, bool):
            raise ParameterError(f"vad.aggressiveness={self.aggressiveness!r} must be an integer in 0..3")
        if self.webrtc_frame_ms not in (10, 20, 30):
            raise ParameterError(f"vad.webrtc_frame_ms={self.webrtc_frame_ms!r} must be 10, 20 or 30 (ms)")
        if not 0 < self.start_threshold <= 1:
            raise ParameterError(f"vad.start_threshold={self.start_threshold!r} must be in (0, 1]")
        if not 0 <= self.end_threshold <= self.start_threshold:
            raise ParameterError(
                f"vad.end_threshold={self.end_threshold!r} must be in [0, start_threshold={self.start_threshold}]"
            )
        if not self.start_threshold <= self.confirm_threshold <= 1:
            raise ParameterError(
                f"vad.confirm_threshold={self.confirm_threshold!r} must be in "
                f"[start_threshold={self.start_threshold}, 1]"
            )
        if not self.end_threshold <= self.interval_threshold <= 1:
            raise ParameterError(
                f"vad.interval_threshold={self.interval_threshold!r} must be in [end_threshold={self.end_threshold}, 1]"
            )
        for name in (
            "gate_hold_s",
            "gate_reset_s",
            "min_speech_s",
            "min_silence_s",
            "pre_roll_s",
            "hangover_s",
            "interval_lag_s",
            "interval_min_pause_s",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 3600):
                raise ParameterError(f"vad.{name}={value!r} must be a number of seconds >= 0")

    @property
    def end_delay_s(self) -> float:
        """Most time (s) between a segment's end and the chunk at which the stage reports it."""
        return max(self.min_silence_s, self.hangover_s) - self.hangover_s + CHUNK / VAD_RATE


class WebrtcGate:
    """webrtcvad on the end of each chunk: the fraction of its frames it calls speech.

    Parameters
    ----------
    aggressiveness : int in 0..3
    frame_ms : {10, 20, 30}, ms
    """

    def __init__(self, aggressiveness: int, frame_ms: int):
        webrtcvad = require("webrtcvad", "speech")
        self._vad = webrtcvad.Vad(aggressiveness)
        self.frame = VAD_RATE * frame_ms // 1000
        self.count = CHUNK // self.frame
        self._span = self.count * self.frame * 2  # bytes of int16 judged per chunk

    def __call__(self, pcm16: bytes) -> float:
        """``pcm16``: one chunk, 16-bit little-endian; returns the speech fraction in [0, 1]."""
        data = pcm16[-self._span :]
        step = self.frame * 2
        if self.count == 1:
            return 1.0 if self._vad.is_speech(data, VAD_RATE) else 0.0
        hits = sum(self._vad.is_speech(data[i : i + step], VAD_RATE) for i in range(0, self._span, step))
        return hits / self.count


class SileroVerifier:
    """Silero VAD (ONNX) on 512-sample chunks at 16 kHz, each seen after the 64 samples before it.

    Two exports of the same network run: the streaming one (inputs ``input``, ``state``,
    ``sr``; one call per chunk) and the sequence one (inputs ``input``, ``h``, ``c``;
    one call scores a run of consecutive chunks, carrying the recurrent state through
    them). Both give the same probabilities; the sequence export costs about half as
    much per chunk when a call holds several.

    Parameters
    ----------
    path : Path
        The ONNX file.
    """

    def __init__(self, path: Path):
        ort = require("onnxruntime", "speech")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelError(f"silero-vad model {str(path)!r} cannot be loaded ({exc}); {_SILERO_FIX}") from None
        names = {i.name for i in self._session.get_inputs()}
        if names == {"input", "state", "sr"}:
            self.sequence = False
        elif names == {"input", "h", "c"}:
            self.sequence = True
        else:
            raise ModelError(
                f"{str(path)!r} is not a Silero VAD v5 model (inputs {sorted(names)}, expected "
                f"input, state, sr or input, h, c); {_SILERO_FIX}"
            )
        self.path = path
        self._sr = np.array(VAD_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget the recurrent state (a new recording starts)."""
        self._state = np.zeros((2, 1, 128), np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Speech probabilities (L,) of ``windows`` (L, 576): consecutive chunks, each after its 64-sample context."""
        run = self._session.run
        if self.sequence:
            probs, h, c = run(None, {"input": windows, "h": self._state[:1], "c": self._state[1:]})
            self._state = np.concatenate([h, c])
            return probs.reshape(-1)
        out = np.empty(len(windows), np.float32)
        for i, window in enumerate(windows):
            prob, self._state = run(None, {"input": window[None], "state": self._state, "sr": self._sr})
            out[i] = prob[0, 0]
        return out


class Hysteresis:
    """Chunk probabilities -> padded speech segments and the tight intervals inside them (times in samples).

    Padded segment (``SpeechStart``/``SpeechEnd``): enter speech at ``start_threshold``,
    stay while at or above ``end_threshold``; a segment is confirmed once it has lasted
    ``min_speech_s`` and one of its chunks reached ``confirm_threshold``; it ends once it
    has been below ``end_threshold`` for ``max(min_silence_s, hangover_s)``.

    Tight intervals (``SpeechSegment``, emitted with the segment's ``SpeechEnd``): the runs
    of the segment's chunks at or above ``interval_threshold``, runs closer than
    ``interval_min_pause_s`` joined, both edges moved ``lag`` samples earlier, kept inside
    the padded segment.

    Parameters
    ----------
    params : VADParams
    rate : int > 0, Hz
        Samples per second of the times pushed.
    lag : bool, default True
        Apply ``params.interval_lag_s`` (False for webrtcvad's fractions, which do not lag).
    """

    def __init__(self, params: VADParams, rate: int, *, lag: bool = True):
        p = params
        self.p = p
        self.min_speech = round(p.min_speech_s * rate)
        self.hangover = round(p.hangover_s * rate)
        self.pre_roll = round(p.pre_roll_s * rate)
        self.end_wait = max(round(p.min_silence_s * rate), self.hangover)
        self.lag = round(p.interval_lag_s * rate) if lag else 0
        self.min_pause = round(p.interval_min_pause_s * rate)
        self.reset()

    def reset(self) -> None:
        self._onset: int | None = None  # first speech chunk of the current candidate
        self._last = 0  # end of its last speech chunk
        self._start = 0  # reported start (pre-roll applied)
        self._confirmed = False
        self._sum = 0.0
        self._n = 0
        self._peak = 0.0
        self._prev_end = 0
        self._runs: list[list] = []  # tight runs of the candidate: [start, end, sum of p, chunks]

    @property
    def in_speech(self) -> bool:
        return self._onset is not None and self._confirmed

    def _tight(self, start: int, end: int, prob: float) -> None:
        """Chunk [start, end) of the open candidate: extend or open a tight run if ``prob`` reaches the threshold."""
        if prob < self.p.interval_threshold:
            return
        runs = self._runs
        if runs and start - runs[-1][1] <= self.min_pause:
            runs[-1][1] = end
            runs[-1][2] += prob
            runs[-1][3] += 1
        else:
            runs.append([start, end, prob, 1])

    def push(self, start: int, end: int, prob: float) -> list[Event]:
        """The chunk [``start``, ``end``) had speech probability ``prob``; returns the events it decides."""
        p = self.p
        events: list[Event] = []
        if prob >= p.start_threshold or (self._onset is not None and prob >= p.end_threshold):
            if self._onset is None:
                self._onset, self._confirmed, self._sum, self._n, self._peak = start, False, 0.0, 0, 0.0
                self._runs = []
            self._last = end
            self._sum += prob
            self._n += 1
            self._peak = max(self._peak, prob)
            self._tight(start, end, prob)
            if (
                not self._confirmed
                and self._last - self._onset >= self.min_speech
                and self._peak >= p.confirm_threshold
            ):
                self._confirmed = True
                self._start = max(self._onset - self.pre_roll, self._prev_end, 0)
                events.append(SpeechStart(self._start, self._sum / self._n))
        elif self._onset is not None and end - self._last >= self.end_wait:
            events += self._close(self._last + self.hangover)
        return events

    def _close(self, end: int) -> list[Event]:
        events: list[Event] = []
        if self._confirmed:
            events = [SpeechEnd(end)]
            for a, b, total, n in self._runs:
                a, b = max(a - self.lag, self._start), min(b - self.lag, end)
                if b > a:
                    events.append(SpeechSegment(a, b, total / n))
            self._prev_end = end
        self._onset = None
        self._confirmed = False
        self._runs = []
        return events

    def flush(self, end: int) -> list[Event]:
        """End of input at sample ``end``: close an open segment there (or at its hangover, if sooner)."""
        if self._onset is None:
            return []
        return self._close(min(self._last + self.hangover, max(end, self._last)))


class VADStage(Stage):
    """Speech detector: first gate, verifier, hysteresis (see the module docstring).

    Parameters
    ----------
    params : VADParams
    sample_rate : int > 0, Hz
        The source's rate (the engine resamples to 16 kHz for this stage).

    Attributes
    ----------
    chunks : int
        32 ms chunks judged so far.
    verified : int
        Chunks that reached the Silero verifier.
    """

    name = "vad"
    emits = (SpeechStart, SpeechEnd, SpeechSegment)
    rate = VAD_RATE

    def __init__(self, params: VADParams | None = None, *, sample_rate: int = VAD_RATE):
        self.params = p = params or VADParams()
        self._gate = WebrtcGate(p.aggressiveness, p.webrtc_frame_ms) if p.mode in ("both", "webrtc") else None
        self._verifier = SileroVerifier(silero_model_path(p.model_path)) if p.mode in ("both", "silero") else None
        self._hold = round(p.gate_hold_s * VAD_RATE)
        self._reset_after = round(p.gate_reset_s * VAD_RATE)
        self._framer = HopFramer(CHUNK, CHUNK)
        self._hyst = Hysteresis(p, VAD_RATE, lag=self._verifier is not None)
        self.reset()

    def reset(self) -> None:
        self._framer.reset()
        self._hyst.reset()
        if self._verifier is not None:
            self._verifier.reset()
        self._context = np.zeros(SILERO_CONTEXT, np.float32)
        self._passed = None  # end of the last chunk the gate passed
        self._verified_until = None  # end of the last chunk the verifier saw
        self._end = 0
        self.chunks = 0
        self.verified = 0

    def _gate_chunk(self, end: int, pcm: bytes) -> tuple[float, bool, bool]:
        """(webrtcvad's speech fraction, verify this chunk?, reset the verifier first?) for the chunk ending at
        ``end``, given as 16-bit PCM."""
        if self._gate is None:
            return 1.0, True, False
        fraction = self._gate(pcm)
        if self._verifier is None:
            return fraction, False, False
        if fraction > 0:
            self._passed = end
        if self._passed is None or end - self._passed > self._hold:
            return fraction, False, False
        fresh = self._verified_until is not None and end - CHUNK - self._verified_until > self._reset_after
        self._verified_until = end
        return fraction, True, fresh

    def probabilities(self, chunks: list[tuple[int, np.ndarray]]) -> np.ndarray:
        """Speech probability of each ``(end, chunk)`` (consecutive 512-sample chunks); advances the state."""
        probs = np.zeros(len(chunks), np.float32)
        windows = np.empty((len(chunks), SILERO_CONTEXT + CHUNK), np.float32)
        for i, (_, chunk) in enumerate(chunks):
            windows[i, :SILERO_CONTEXT] = self._context
            windows[i, SILERO_CONTEXT:] = chunk
            self._context = chunk[-SILERO_CONTEXT:]
        pcm = None
        if self._gate is not None:  # 16-bit PCM for webrtcvad, one conversion per block
            pcm = (np.clip(windows[:, SILERO_CONTEXT:], -1.0, 1.0) * 32767.0).astype("<i2")
        run: list[int] = []  # consecutive chunks to verify in one call
        for i, (end, _) in enumerate(chunks):
            fraction, verify, fresh = self._gate_chunk(end, None if pcm is None else pcm[i].tobytes())
            if not verify:
                probs[i] = fraction if self._verifier is None else 0.0
            if run and (not verify or fresh):
                probs[run[0] : run[-1] + 1] = self._verifier(windows[run[0] : run[-1] + 1])
                run = []
            if fresh:
                self._verifier.reset()
            if verify:
                run.append(i)
                self.verified += 1
        if run:
            probs[run[0] : run[-1] + 1] = self._verifier(windows[run[0] : run[-1] + 1])
        return probs

    def process(self, frame: Frame) -> list[Event]:
        self._end = frame.end
        chunks = [(end, chunk[:, 0].copy()) for end, chunk in self._framer.push(frame.index, frame.mono)]
        if not chunks:
            return []
        probs = self.probabilities(chunks)
        self.chunks += len(chunks)
        events: list[Event] = []
        for (end, _), prob in zip(chunks, probs, strict=True):
            events += self._hyst.push(end - CHUNK, end, float(prob))
        return events

    def flush(self) -> list[Event]:
        return self._hyst.flush(self._end)
