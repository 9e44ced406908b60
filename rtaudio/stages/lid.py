"""Spoken-language identification on speech: sliding windows, evidence accumulated per speech segment.

The model is an ONNX file returning log-probabilities over the labels in the ``labels.json`` beside it.
Its input is chosen from its metadata (``rtaudio.input``) or, failing that, its input's rank:
``log_mel`` (batch, frames, mels) gets :func:`rtaudio.stages.lid_features.log_mel` features
(:mod:`rtaudio.models.langid` ships rtaudio's own; see ``models/langid/MODEL_CARD.md``),
``waveform`` (batch, samples) gets the 16 kHz window itself (the VoxLingua107 export,
:mod:`rtaudio.models.voxlingua`). Labels like ``"en: English"`` mean ``"en"``. Runtime needs
onnxruntime and numpy.

Two backends: ``whisper`` (:mod:`rtaudio.stages.lid_whisper`: Whisper's own language decision on the
speech heard so far; the default where a Whisper model is found, see :mod:`rtaudio.models.whisper`) and
``onnx`` (the model above; rtaudio's phonotactic model is the light fallback).

Speech comes from the VAD stage when one runs before this one (``SpeechStart``/``SpeechEnd``/
``SpeechSegment`` events); otherwise a simple energy gate finds it (``gate="energy"``, or
``gate="auto"`` until the first VAD event arrives).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtaudio.errors import MissingDependencyError, ModelError, ParameterError, require
from rtaudio.events import Event, Language, SpeechEnd, SpeechSegment, SpeechStart
from rtaudio.models.langid import FIX, check_model, labels_file, model_file, resolve_model
from rtaudio.models.voxlingua import META_INPUT, META_RATE, META_UNTRAINED, iso_code
from rtaudio.stages import lid_phones
from rtaudio.stages.base import Frame, Stage
from rtaudio.stages.history import History
from rtaudio.stages.lid_features import N_MELS, RATE, log_mel
from rtaudio.worker import ProcessProxy, check_worker


class UntrainedModelWarning(UserWarning):
    """The lid stage runs an untrained (random-weights) test model."""


class LangidModel:
    """An ONNX language-ID model and its labels.

    Parameters
    ----------
    path : path-like
        The ``.onnx`` file (or a folder holding ``langid.onnx``); its labels are read from
        ``<name>.json`` or ``labels.json`` beside it.

    Raises
    ------
    ModelError
        The file is missing, is not a loadable ONNX model, or its labels do not match it.
    """

    def __init__(self, path):
        ort = require("onnxruntime", "langid")
        path = Path(path)
        check_model(path)
        onnx = model_file(path)
        labels_path = labels_file(path)
        try:
            meta = json.loads(labels_path.read_text(encoding="utf-8"))
            raw = [str(x) for x in (meta["labels"] if isinstance(meta, dict) else meta)]
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"langid label map {str(labels_path)!r} is not valid (expected JSON with a 'labels' list): {exc}; {FIX}"
            ) from None
        self.labels = [iso_code(l) if ":" in l else l for l in raw]
        if len(set(self.labels)) != len(self.labels):
            dup = sorted({l for l in self.labels if self.labels.count(l) > 1})
            raise ModelError(f"langid label map {str(labels_path)!r} names {', '.join(dup)} more than once")
        meta = meta if isinstance(meta, dict) else {}
        self.nonspeech = meta.get("nonspeech", "nonspeech")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ModelError(
                f"langid model {str(onnx)!r} cannot be loaded by onnxruntime ({str(exc).splitlines()[0][:200]}); {FIX}"
            ) from None
        info = self.session.get_inputs()[0]
        props = self.session.get_modelmeta().custom_metadata_map
        self.input = info.name
        #: ``"log_mel"`` (rtaudio's acoustic features), ``"waveform"`` (16 kHz samples) or
        #: ``lid_phones.FEATURE_NAME`` (phone n-gram statistics), from the metadata or the input rank.
        self.kind = props.get(META_INPUT) or {3: "log_mel", 2: "waveform"}.get(len(info.shape), "")
        if self.kind not in ("log_mel", "waveform", lid_phones.FEATURE_NAME):
            raise ModelError(
                f"langid model {str(onnx)!r} takes input {info.name!r} of shape {info.shape}; expected "
                f"(batch, frames, {N_MELS}) log-mel features, a (batch, samples) waveform or "
                f"(batch, features) phone n-grams ({META_INPUT}={lid_phones.FEATURE_NAME})"
            )
        self.order = int(props.get("ngram_order", 3))
        self._recognizer = None
        if int(props.get(META_RATE, RATE)) != RATE:
            raise ModelError(
                f"langid model {str(onnx)!r} is for {props[META_RATE]} Hz audio; the lid stage runs at {RATE} Hz"
            )
        #: True for a randomly initialised test model (its decisions mean nothing).
        self.untrained = props.get(META_UNTRAINED) == "true" or meta.get("untrained") is True
        probe = {
            "waveform": np.zeros((1, RATE), np.float32),
            lid_phones.FEATURE_NAME: np.zeros((1, lid_phones.n_features(self.order)), np.float32),
        }.get(self.kind, np.zeros((1, 100, N_MELS), np.float32))
        try:
            out = self.session.run(None, {self.input: probe})[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own exception types
            raise ModelError(
                f"langid model {str(onnx)!r} fails on a {self.kind} input of shape {probe.shape} "
                f"({str(exc).splitlines()[0][:200]}); {FIX}"
            ) from None
        if out.shape != (1, len(self.labels)):
            raise ModelError(
                f"langid model {str(onnx)!r} gives {out.shape[-1]} outputs but its label map "
                f"{str(labels_path)!r} has {len(self.labels)} labels; {FIX}"
            )
        self.path = onnx
        self.languages = [l for l in self.labels if l != self.nonspeech]

    @property
    def note(self) -> str | None:
        """A warning for the user when the model is an untrained test model, else None."""
        if not self.untrained:
            return None
        return (
            f"warning: langid model {str(self.path)!r} is an untrained test model (random weights, made by "
            "rtaudio's tests): its language decisions mean nothing"
        )

    @property
    def phonotactic(self) -> bool:
        """True for a model on phone n-grams: evidence adds up as phone counts, not as posteriors."""
        return self.kind == lid_phones.FEATURE_NAME

    def run_recognizer_in(self, worker: str) -> None:
        """Phonotactic models: run the phone recogniser in this thread (``"thread"``) or in a child
        process (``"process"``, :class:`rtaudio.worker.ProcessProxy`: its decoding holds the GIL)."""
        if self.phonotactic:
            self._recognizer = (
                ProcessProxy(lid_phones.PhoneRecognizer) if worker == "process" else lid_phones.PhoneRecognizer()
            )

    def close(self) -> None:
        """Stop the phone recogniser's child process, if any (idempotent)."""
        close = getattr(self._recognizer, "close", None)
        if close is not None:
            close()

    def observe(self, x: np.ndarray) -> np.ndarray:
        """What one window of 16 kHz mono audio contributes to :class:`Evidence`: its phone n-gram
        counts for a phonotactic model, else its log-probabilities (:meth:`logprobs`)."""
        if not self.phonotactic:
            return self.logprobs(x)
        if self._recognizer is None:
            self._recognizer = lid_phones.PhoneRecognizer()
        return lid_phones.phone_counts(self._recognizer.phones(np.asarray(x, dtype=np.float32)), self.order)

    def logprobs(self, x: np.ndarray) -> np.ndarray:
        """Log-probabilities over :attr:`labels` for one window of 16 kHz mono audio, (labels,) float32."""
        if self.phonotactic:
            return self.logprobs_of_counts(self.observe(x))
        x = np.asarray(x, dtype=np.float32)
        feats = x if self.kind == "waveform" else log_mel(x)
        return self.session.run(None, {self.input: feats[None]})[0][0]

    def logprobs_of_counts(self, counts: np.ndarray) -> np.ndarray:
        """Log-probabilities over :attr:`labels` for phone n-gram counts (a phonotactic model)."""
        feats = lid_phones.ngram_features(counts)
        return self.session.run(None, {self.input: feats[None]})[0][0]

    def check_languages(self, languages) -> list[str]:
        """``languages`` (ISO 639-1 codes) validated against the model; empty: all of them."""
        langs = [l.strip().lower() for l in (languages or ()) if l and l.strip()]
        bad = [l for l in langs if l not in self.languages]
        if bad:
            raise ParameterError(
                f"languages={','.join(bad)!r}: the langid model {str(self.path)!r} knows only "
                f"{','.join(self.languages)}"
            )
        return langs or list(self.languages)

    def decide(
        self,
        x: np.ndarray,
        languages=None,
        window_s: float = 2.0,
        hop_s: float = 0.5,
        threshold: float = 0.5,
        combine: str = "mean",
    ) -> dict:
        """Whole-clip decision on 16 kHz audio (no gating but the model's own nonspeech class), as
        :meth:`Evidence.decision`."""
        ev = Evidence(self, self.check_languages(languages), threshold, combine)
        w, h = int(window_s * RATE), int(hop_s * RATE)
        if self.phonotactic:
            h = w  # phones are counted once
        if len(x) <= w:
            if len(x) >= int(0.5 * RATE):
                ev.add(self.observe(x), len(x) / RATE)
        else:
            for s in range(0, len(x) - w + 1, h):
                ev.add(self.observe(x[s : s + w]), (w if s == 0 else h) / RATE)
        return ev.decision()


class Evidence:
    """Windows' posteriors combined into one decision.

    A window the model calls ``nonspeech`` (probability > 0.5) is no evidence about the language and
    is left out; the language posterior is the mean of the other windows' posteriors over the allowed
    languages (``combine="mean"``), or the softmax of their mean log-probability (``"geometric"``).
    For a phonotactic model the windows' phone n-gram counts add up instead, and the posterior is the
    model's answer for all of them together (``unknown`` while that answer is non-speech). No speech
    window, or the best language below ``threshold``, gives ``unknown``.
    """

    def __init__(self, model: LangidModel, languages: list[str], threshold: float, combine: str = "mean"):
        self.model, self.threshold, self.combine = model, threshold, combine
        self.idx = [model.labels.index(l) for l in languages]
        self.names = list(languages)
        self.ns = model.labels.index(model.nonspeech) if model.nonspeech in model.labels else None
        self.reset()

    def reset(self) -> None:
        self.sum_lp = np.zeros(len(self.idx), np.float64)
        self.sum_p = np.zeros(len(self.idx), np.float64)
        self.n = 0  # windows that are speech
        self.n_nonspeech = 0
        self.speech_s = 0.0
        self.counts = None  # phonotactic models: phone n-gram counts of the speech windows

    def add(self, observation: np.ndarray, seconds: float) -> bool:
        """Add one window's :meth:`LangidModel.observe` (log-probabilities over the model's labels, or
        phone n-gram counts); False if it was non-speech."""
        if self.model.phonotactic:
            return self._add_counts(np.asarray(observation, dtype=np.float64), seconds)
        lp = np.asarray(observation, dtype=np.float64)
        if self.ns is not None and lp[self.ns] > np.log(0.5):
            self.n_nonspeech += 1
            return False
        sub = lp[self.idx]
        sub = sub - np.logaddexp.reduce(sub)  # renormalise over the allowed languages
        self.sum_lp += sub
        self.sum_p += np.exp(sub)
        self.n += 1
        self.speech_s += seconds
        return True

    def _add_counts(self, counts: np.ndarray, seconds: float) -> bool:
        """Phonotactic models: the counts add up; :meth:`decision` asks the model about all of them (a
        window of 1-2 s holds too few phones to be called non-speech on its own)."""
        self.counts = counts if self.counts is None else self.counts + counts
        self.n += 1
        self.speech_s += seconds
        return True

    def _posterior(self) -> np.ndarray | None:
        """Probabilities over the allowed languages, or None when the evidence is non-speech (n > 0)."""
        if not self.model.phonotactic:
            if self.combine == "geometric":
                z = self.sum_lp / self.n
                q = np.exp(z - z.max())
                return q / q.sum()
            return self.sum_p / self.n
        lp = np.asarray(self.model.logprobs_of_counts(self.counts), dtype=np.float64)
        if self.ns is not None and lp[self.ns] > np.log(0.5):
            return None
        sub = lp[self.idx]
        return np.exp(sub - np.logaddexp.reduce(sub))

    def decision(self) -> dict:
        """``{"language", "probability", "top": [[code, p], ...3], "speech_s"}``; ``unknown`` when unsure."""
        q = self._posterior() if self.n else None
        if q is None:
            return {"language": "unknown", "probability": 0.0, "top": [], "speech_s": round(self.speech_s, 2)}
        order = np.argsort(-q)[:3]
        top = [[self.names[i], round(float(q[i]), 4)] for i in order]
        best, prob = top[0]
        if prob < self.threshold:
            best = "unknown"
        return {"language": best, "probability": prob, "top": top, "speech_s": round(self.speech_s, 2)}


@dataclass(frozen=True)
class LidParams:
    """Parameters of the language-ID stage.

    Attributes
    ----------
    model : str
        Registry name (``"langid"``) or path of an ONNX model with its ``labels.json``.
    languages : tuple of str
        Candidate languages (ISO 639-1); empty: every language of the model.
    window_s : float > 0, seconds
        Window the model sees; the first decision comes ``window_s`` after speech onset.
    hop_s : float in (0, window_s], seconds
        Distance between windows.
    threshold : float in [0, 1]
        Below this probability of the best language the decision is ``unknown``.
    min_speech_s : float >= 0, seconds
        A speech segment shorter than one window is classified whole when at least this long.
    gate : str
        ``"auto"`` (VAD events when a VAD stage runs before this one, energy until the first one
        arrives), ``"vad"`` (VAD events only), ``"energy"`` (energy gate only).
    energy_db : float, dBFS
        Energy gate: 20 ms frames louder than this are speech.
    hangover_s : float >= 0, seconds
        Energy gate: a segment ends after this much audio below ``energy_db``.
    min_change : float in [0, 1]
        A new ``Language`` event is emitted when the decision changes or its probability moves by this much.
    max_speech_s : float >= 0, seconds
        Stop adding windows once this much speech has been used (the window that crosses it counts;
        ``rtaudio langid --first S``); 0: never stop.
    combine : str
        How windows add up: ``"mean"`` of posteriors, or ``"geometric"`` (mean log-probability).
    backend : str
        ``"auto"`` (Whisper where its model is found and ``model`` is the default, else ``onnx``),
        ``"whisper"`` or ``"onnx"`` (the ``model`` above).
    whisper_model : str
        Whisper backend: registry name (``"whisper-base"``), a size in the Hugging Face cache, or a
        faster-whisper model folder.
    live : bool
        Whisper backend: decide as speech accumulates (2, 3, 4, 6, 8, ... s of speech, and at segment
        ends); False: once, at the end of input or when ``max_speech_s`` is reached.
    """

    model: str = "langid"
    languages: tuple[str, ...] = ()
    window_s: float = 2.0
    hop_s: float = 0.5
    threshold: float = 0.5
    min_speech_s: float = 0.5
    gate: str = "auto"
    energy_db: float = -45.0
    hangover_s: float = 0.6
    min_change: float = 0.05
    max_speech_s: float = 0.0
    combine: str = "mean"
    backend: str = "auto"
    whisper_model: str = "whisper-base"
    live: bool = True


BACKENDS = ("auto", "whisper", "onnx")


def choose_backend(params: LidParams) -> tuple[str, Path | None]:
    """(``"whisper"``, model folder) or (``"onnx"``, None) for ``params`` (see :class:`LidParams`.backend)."""
    if params.backend not in BACKENDS:
        raise ParameterError(f"lid.backend={params.backend!r} must be one of {', '.join(BACKENDS)}")
    if params.backend == "onnx" or (params.backend == "auto" and params.model != "langid"):
        return "onnx", None
    from rtaudio.models.whisper import resolve_whisper

    try:
        require("faster_whisper", "models")
        return "whisper", resolve_whisper(params.whisper_model)
    except (ModelError, MissingDependencyError):
        if params.backend == "whisper":
            raise
        return "onnx", None


class LidStage(Stage):
    """Language of the speech, per speech segment, as ``Language`` events (times on the 16 kHz stage clock).

    Parameters
    ----------
    params : LidParams
    sample_rate : int > 0, Hz
        The source's rate (VAD events arrive on the source clock).
    worker : {"thread", "process"}
        Phonotactic models: where the phone recogniser runs, in the caller's thread or in a child
        process (its decoding cannot stall other threads); same results. Whisper: ``"process"`` runs
        it asynchronously (decisions arrive when ready), ``"thread"`` in stream order. Pipeline
        placement ``"process"`` (:mod:`rtaudio.pipeline`) builds the stage with it.
    """

    name = "lid"
    emits = (Language,)
    slow = True  # a recogniser: the pipeline may run it in its lane
    rate = RATE
    listens = (SpeechStart, SpeechEnd, SpeechSegment)

    def __init__(
        self,
        params: LidParams = LidParams(),
        *,
        sample_rate: int,
        model: LangidModel | None = None,
        worker: str = "thread",
    ):
        if params.window_s <= 0 or not 0 < params.hop_s <= params.window_s:
            raise ParameterError(
                f"lid.window_s={params.window_s} and lid.hop_s={params.hop_s} must satisfy "
                "0 < hop_s <= window_s seconds"
            )
        if not 0.0 <= params.threshold <= 1.0:
            raise ParameterError(f"lid.threshold={params.threshold} must be in [0, 1]")
        if params.gate not in ("auto", "vad", "energy"):
            raise ParameterError(f"lid.gate={params.gate!r} must be one of auto, vad, energy")
        check_worker("lid", worker)
        self.worker = worker
        self.params = params
        self.source_rate = sample_rate
        self.backend, whisper_path = ("onnx", None) if model is not None else choose_backend(params)
        #: The whisper backend's state (:class:`~rtaudio.stages.lid_whisper.WhisperTracker`), or None.
        self.whisper = None
        if self.backend == "whisper":
            from rtaudio.stages.lid_whisper import WhisperTracker

            self.whisper = WhisperTracker(
                whisper_path, params.languages, params.threshold, params.max_speech_s, params.live, worker
            )
            self.model = None
            self.model_path = whisper_path
            self.languages = self.whisper.languages
            self.win = self.hop = int(round(params.window_s * RATE))
            self.gate_frame = int(0.02 * RATE)
            self.reset()
            return
        self.model = model or LangidModel(resolve_model(params.model))
        self.model_path = self.model.path
        if worker == "process":
            self.model.run_recognizer_in("process")
        if self.model.untrained:
            warnings.warn(self.model.note.removeprefix("warning: "), UntrainedModelWarning, stacklevel=2)
        self.languages = self.model.check_languages(params.languages)
        self.win = int(round(params.window_s * RATE))
        # a phonotactic model counts each phone once: windows do not overlap
        self.hop = self.win if self.model.phonotactic else int(round(params.hop_s * RATE))
        self.gate_frame = int(0.02 * RATE)
        if params.combine not in ("mean", "geometric"):
            raise ParameterError(f"lid.combine={params.combine!r} must be mean or geometric")
        self.total = Evidence(self.model, self.languages, params.threshold, params.combine)
        self.segment = Evidence(self.model, self.languages, params.threshold, params.combine)
        self.reset()

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        self._history = History()  # recent audio at the stage's rate
        self._end = 0  # stage index just past the audio seen
        self._mode = "energy" if self.params.gate == "energy" else ("vad" if self.params.gate == "vad" else "auto")
        self._seg_start: int | None = None
        self._seg_end: int | None = None
        self._next = 0  # start of the next window
        self._quiet = 0  # energy gate: quiet samples in a row
        self._gate_pos = 0  # energy gate: next 20 ms frame to look at
        self._last: dict | None = None
        self._pending: list[tuple[str, int]] = []  # VAD events not yet applied: ("start"/"end", stage index)
        if self.whisper is not None:
            self.whisper.reset()
            return
        self.segment.reset()
        self.total.reset()

    def close(self) -> None:
        if self.whisper is not None:
            self.whisper.close()
        elif self.model is not None:
            self.model.close()

    @property
    def description(self) -> str:
        """Which model decides, for the user: ``"whisper (PATH)"`` or ``"onnx (PATH)"``."""
        return f"{self.backend} ({self.model_path})"

    def decision(self) -> dict:
        """Decision over all speech seen so far (every segment), as :meth:`Evidence.decision`."""
        if self.whisper is not None:
            return self.whisper.decision()
        return self.total.decision()

    # -- VAD events --------------------------------------------------------------------------
    def _to_stage(self, t: int) -> int:
        return int(round(t * RATE / self.source_rate))

    def observe(self, events: list[Event]) -> None:
        for e in events:
            if self._mode == "energy":
                return
            if self._mode == "auto":  # the VAD is there: drop whatever the energy gate started
                self._mode = "vad"
                self._seg_start = self._seg_end = None
                if self.whisper is None:
                    self.segment.reset()
            if isinstance(e, SpeechStart):
                self._pending.append(("start", self._to_stage(e.t)))
                self._saw_start = True
            elif isinstance(e, SpeechEnd):
                self._pending.append(("end", self._to_stage(e.t)))
            elif isinstance(e, SpeechSegment) and not getattr(self, "_saw_start", False):
                self._pending += [("start", self._to_stage(e.start)), ("end", self._to_stage(e.end))]

    # -- audio --------------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Event]:
        x = frame.mono
        if frame.index != self._end:  # a gap: close what was open
            out = self._close(self._end) if self._seg_start is not None else []
            self._end = frame.index
            self._next = self._gate_pos = frame.index
        else:
            out = []
        self._history.append(frame.index, x)
        self._end = frame.index + len(x)
        out += self._run(final=False)
        if self.whisper is not None:
            out += self._emit_whisper(self.whisper.poll())
        self._trim()
        return out

    def flush(self) -> list[Event]:
        out = self._run(final=True)
        if self._seg_start is not None:
            out += self._close(self._end)
        if self.whisper is not None:
            out += self._emit_whisper(self.whisper.finish())
        return out

    def _trim(self) -> None:
        keep_from = self._end - max(self.win, 30 * RATE)
        if self._seg_start is not None:
            keep_from = min(keep_from, self._next)
        self._history.keep_from(min(keep_from, self._end))

    def _audio(self, a: int, b: int) -> np.ndarray:
        """Samples ``a..b`` of what is kept (a view: use it at once)."""
        return self._history.get(a, b)

    def _run(self, final: bool) -> list[Event]:
        out = []
        if self._mode == "vad":
            while self._pending:
                kind, t = self._pending.pop(0)
                if kind == "start":
                    if self._seg_start is not None:
                        out += self._close(t)
                    self._open(t)
                elif self._seg_start is not None:
                    self._seg_end = t
                    out += self._windows()
                    out += self._close(t)
            out += self._windows()
        else:
            out += self._energy()
        return out

    def _energy(self) -> list[Event]:
        p, out = self.params, []
        level = 10 ** (p.energy_db / 20)
        hang = int(p.hangover_s * RATE)
        n = self.gate_frame
        while self._gate_pos + n <= self._end:
            seg = self._audio(self._gate_pos, self._gate_pos + n)
            loud = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) > level if len(seg) == n else False
            if loud:
                self._quiet = 0
                if self._seg_start is None:
                    self._open(self._gate_pos)
            elif self._seg_start is not None:
                self._quiet += n
                if self._quiet >= hang:
                    end = self._gate_pos + n - self._quiet
                    self._seg_end = end
                    out += self._windows()
                    out += self._close(end)
            self._gate_pos += n
            if self._seg_start is not None:
                out += self._windows(limit=self._gate_pos)
        return out

    def _open(self, t: int) -> None:
        self._seg_start, self._seg_end = t, None
        self._next = t
        if self.whisper is None:
            self.segment.reset()

    def _windows(self, limit: int | None = None) -> list[Event]:
        """Classify every full window of the open segment that the audio seen so far covers."""
        if self._seg_start is None:
            return []
        stop = self._end if limit is None else min(limit, self._end)
        if self._seg_end is not None:
            stop = min(stop, self._seg_end)
        if self.whisper is not None:  # all of the speech, as it comes
            if stop <= self._next:
                return []
            x, self._next = self._audio(self._next, stop), stop
            return self._emit_whisper(self.whisper.add(x, stop))
        out = []
        while self._next + self.win <= stop:
            first = self.segment.n == 0
            secs = (self.win if first else self.hop) / RATE
            if self._full():
                self._next += self.hop
                continue
            n = self.win
            if self.model.phonotactic:  # each second counts once: the last window stops at the cap
                n = max(self._capped(n), 400)
                secs = n / RATE
            x = self._audio(self._next, self._next + n)
            obs = self.model.observe(x)
            if self.segment.add(obs, secs):
                self.total.add(obs, secs)
            out += self._emit(self._next + self.win)  # non-speech so far: one `unknown`
            self._next += self.hop
        return out

    def _capped(self, n: int) -> int:
        """``n`` samples, or fewer where ``max_speech_s`` leaves less (phonotactic models)."""
        cap = self.params.max_speech_s
        return n if cap <= 0 else min(n, int(round((cap - self.total.speech_s) * RATE)))

    def _full(self) -> bool:
        """True once ``max_speech_s`` of speech has been used (the window that crosses it still counts)."""
        cap = self.params.max_speech_s
        return cap > 0 and self.total.speech_s >= cap - 1e-6

    def _close(self, end: int) -> list[Event]:
        out = []
        if self.whisper is not None:
            if end > self._next:
                out += self._emit_whisper(self.whisper.add(self._audio(self._next, end), end))
                self._next = end
            self._seg_start = self._seg_end = None
            self._quiet = 0
            return out + self._emit_whisper(self.whisper.segment_end())
        if self.model.phonotactic and self.segment.n > 0 and not self._full():
            n = self._capped(end - self._next)  # phones are counted once: the segment's last part counts too
            if n >= max(int(self.params.min_speech_s * RATE), 400):
                obs = self.model.observe(self._audio(self._next, self._next + n))
                if self.segment.add(obs, n / RATE):
                    self.total.add(obs, n / RATE)
                out += self._emit(end)
        if self.segment.n == 0 and self._seg_start is not None:
            length = end - self._seg_start
            if length >= max(int(self.params.min_speech_s * RATE), 400) and not self._full():
                x = self._audio(self._seg_start, end)
                obs = self.model.observe(x)
                if self.segment.add(obs, length / RATE):
                    self.total.add(obs, length / RATE)
                out += self._emit(end)
        self._seg_start = self._seg_end = None
        self._last = None
        self._quiet = 0
        return out

    def _emit(self, t: int) -> list[Event]:
        d = self.segment.decision()
        last = self._last
        if (
            last is not None
            and last["language"] == d["language"]
            and abs(last["probability"] - d["probability"]) < self.params.min_change
        ):
            return []
        self._last = d
        return [
            Language(
                t,
                d["language"],
                float(d["probability"]),
                tuple((a, float(b)) for a, b in d["top"]),
                float(d["speech_s"]),
            )
        ]

    def _emit_whisper(self, decisions: list[dict]) -> list[Event]:
        """``Language`` events for the whisper backend's decisions (over all speech so far): each one that
        changes the language or moves its probability by ``min_change``."""
        out = []
        for d in decisions:
            last = self._last
            if (
                last is not None
                and last["language"] == d["language"]
                and abs(last["probability"] - d["probability"]) < self.params.min_change
            ):
                continue
            self._last = d
            top = tuple((a, float(b)) for a, b in d["top"])
            out.append(Language(d["t"], d["language"], float(d["probability"]), top, float(d["speech_s"])))
        return out
