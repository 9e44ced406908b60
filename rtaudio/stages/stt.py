"""Speech-to-text on gated speech: Whisper (faster-whisper), vosk (any Kaldi model) or pocketsphinx (English), same events.

::

    vad stage ──SpeechStart / SpeechEnd (source clock, decided after the fact)──┐
    audio at the model's rate ──> history buffer ───────────────────────────────┴─> runs [start - pre_roll, end + post_roll)
        ──> fixed 0.1 s chunks from each run's start ──> recogniser ──> PartialTranscript (live captions)
                                                                     └─> Transcript with Words (source clock)

The stage ``listens`` to the vad stage's speech events. The VAD decides after the
fact (a start once speech has lasted a while, an end once silence has), so the
stage keeps the recent audio itself and feeds the recogniser from it:

- each speech segment becomes a *run* from ``start - pre_roll_s`` to ``end + post_roll_s``;
  a run never reaches back into the previous one (its pre-roll is cut at the previous
  run's end, a rule that depends on event times only);
- inside an open run the recogniser gets audio up to ``lag_s`` behind the input, in chunks
  of ``chunk_s`` counted from the run's start, so the recogniser sees the same calls
  whatever block sizes the input came in, and results do not depend on them;
- each run is one utterance or more (vosk's own endpointing may end one inside a run);
  the recogniser's word times count the audio it was fed, and are mapped onto the source
  clock through the table of where each run started (a word never spans two runs).

With ``gate=False`` the whole input is one run (the baseline the gate is measured against).

Backends: ``whisper`` (:mod:`rtaudio.stages.stt_whisper`: one decode per run, word timestamps,
stable live captions; the registry's ``whisper-base`` or any faster-whisper model folder), ``vosk`` (``KaldiRecognizer`` with ``SetWords(True)``; the model is the registry's
``vosk-<language>``) and ``pocketsphinx`` (its English model ships in its wheel: registry
name ``pocketsphinx-en``). ``engine="auto"`` takes vosk when a model for the language is
found and falls back to pocketsphinx for English.
``engine="auto"`` takes whisper first, wherever its model is found (it knows 99 languages).

``language="auto"`` follows a ``lid`` stage placed before this one: the stage starts in English and,
when a :class:`~rtaudio.events.Language` event names a language whose vosk model is installed (at
the model rate the stage runs at), switches to that model at the next run boundary (never inside a
run). :attr:`STTStage.switches` records each switch. With whisper, ``language="auto"`` transcribes each
run in the lid stage's latest language (Whisper's own detection while there is none).
"""

from __future__ import annotations

import bisect
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rtaudio.errors import MissingDependencyError, ModelError, ParameterError, require
from rtaudio.events import (
    Event,
    Language,
    PartialTranscript,
    SpeechEnd,
    SpeechStart,
    Transcript,
    Word,
)
from rtaudio.models.pocketsphinx import find_pocketsphinx, pocketsphinx_parts
from rtaudio.models.vosk import VOSK_LANGUAGES, find_vosk, vosk_fix, vosk_model_rate
from rtaudio.stages.base import Frame, Stage
from rtaudio.stages.history import History
from rtaudio.worker import ProcessProxy, check_worker

ENGINES = ("auto", "whisper", "vosk", "pocketsphinx")
#: ``stt.language`` that follows the lid stage; the language it starts in.
AUTO, AUTO_START = "auto", "en"


# -- parameters -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class STTParams:
    """Parameters of :class:`STTStage`.

    Attributes
    ----------
    engine : {"auto", "whisper", "vosk", "pocketsphinx"}, default "auto"
        ``auto``: whisper when its model is found, else vosk when a model for ``language`` is found,
        else pocketsphinx for English.
    language : str, default "en"
        ISO 639-1 code; picks the registry model ``vosk-<language>``. ``"auto"``: start in English and
        follow the ``language`` events of a ``lid`` stage earlier in the pipeline (see the module docstring).
    model_path : str or None, default None
        A model folder (vosk: the unpacked model; pocketsphinx: a folder like its ``model/en-us``).
    gate : bool, default True
        Transcribe only what the vad stage (earlier in the pipeline) marks as speech;
        ``False``: the whole input as one run.
    pre_roll_s : float >= 0, default 0.2, seconds
        Audio added before each speech segment (the recogniser needs a little context;
        the VAD's intervals hug the speech). Cut at the end of the previous run.
    post_roll_s : float >= 0, default 0.1, seconds
        Audio added after each speech segment. Keep it at most ``vad.min_silence_s -
        vad.hangover_s`` (the shortest gap the VAD leaves between segments), or the next
        segment's first sound can be cut.
    lag_s : float >= 0, default 0.5, seconds
        Inside a segment the recogniser runs this far behind the input. It must exceed the
        VAD's end delay (``vad.min_silence_s - vad.hangover_s + 0.032``) minus ``post_roll_s``,
        or results start to depend on block sizes (``rtaudio transcribe`` checks this).
    chunk_s : float > 0, default 0.2, seconds
        Audio per recogniser call (and at most one partial result per chunk).
    partials : bool, default True
        Report :class:`~rtaudio.events.PartialTranscript` events (live captions).
    word_events : bool, default False
        Also report each word as a :class:`~rtaudio.events.Word` event (they are always
        inside the :class:`~rtaudio.events.Transcript`).
    group_s : float > 0, default 20.0, seconds
        pocketsphinx only: most audio joined into one utterance (see :class:`PocketsphinxRecognizer`).
    group_gap_s : float >= 0, default 2.0, seconds
        pocketsphinx only: runs closer than this are joined into one utterance; its final
        result comes once a longer gap (or the end of input) follows.
    sample_rate : int or None, default None, Hz
        The rate to run the recogniser at; None: the model's own (read from its
        ``conf/mfcc.conf``). A value the model was not trained for is an error.
    history_s : float > 0, default 20.0, seconds
        Recent audio kept for segments the VAD reports after the fact.
    whisper_model : str, default "whisper-base"
        whisper: registry name, a size in the Hugging Face cache, or a faster-whisper model folder
        (``model_path`` overrides it).
    partial_s : float > 0, default 1.0, seconds
        whisper: audio between two live-caption decodes of an open run.
    beam_size : int >= 1, default 5
        whisper: beam of the final decode of each run (live captions are greedy).
    window_s : float in [0, 30], default 20.0, seconds
        whisper: shortest encoder window. Each decode pads its audio to its length plus 1 s, at
        least ``window_s``; 30 pads every decode to Whisper's full window (faster-whisper's way).
        A shorter window decodes once, without sampling fallback; a decode that looks broken is
        redone on the full window. 20: 35 % less CPU than 30 at WER 0.029 on speech_asr (10:
        0.057), see docs/speech.md.
    """

    engine: str = "auto"
    language: str = "en"
    model_path: str | None = None
    gate: bool = True
    pre_roll_s: float = 0.2
    post_roll_s: float = 0.1
    lag_s: float = 0.5
    chunk_s: float = 0.2
    partials: bool = True
    word_events: bool = False
    group_s: float = 20.0
    group_gap_s: float = 2.0
    sample_rate: int | None = None
    history_s: float = 20.0
    whisper_model: str = "whisper-base"
    partial_s: float = 1.0
    beam_size: int = 5
    window_s: float = 20.0

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ParameterError(f"stt.engine={self.engine!r} must be one of {', '.join(ENGINES)}")
        if not (
            isinstance(self.language, str) and (self.language == AUTO or re.fullmatch(r"[a-z]{2,3}", self.language))
        ):
            raise ParameterError(
                f"stt.language={self.language!r} must be an ISO 639-1 code like 'en' or 'ko', or 'auto'"
            )
        for name in ("pre_roll_s", "post_roll_s", "lag_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 60):
                raise ParameterError(f"stt.{name}={value!r} must be a number of seconds in [0, 60]")
        if not (isinstance(self.group_s, (int, float)) and self.group_s > 0):
            raise ParameterError(f"stt.group_s={self.group_s!r} must be > 0 seconds")
        if not (isinstance(self.group_gap_s, (int, float)) and self.group_gap_s >= 0):
            raise ParameterError(f"stt.group_gap_s={self.group_gap_s!r} must be >= 0 seconds")
        if not (
            isinstance(self.partial_s, (int, float)) and not isinstance(self.partial_s, bool) and self.partial_s > 0
        ):
            raise ParameterError(f"stt.partial_s={self.partial_s!r} must be > 0 seconds")
        if not (isinstance(self.beam_size, int) and not isinstance(self.beam_size, bool) and 1 <= self.beam_size <= 20):
            raise ParameterError(f"stt.beam_size={self.beam_size!r} must be an integer in [1, 20]")
        if not (
            isinstance(self.window_s, (int, float)) and not isinstance(self.window_s, bool) and 0 <= self.window_s <= 30
        ):
            raise ParameterError(f"stt.window_s={self.window_s!r} must be a number of seconds in [0, 30]")
        if not (isinstance(self.chunk_s, (int, float)) and 0.01 <= self.chunk_s <= 5):
            raise ParameterError(f"stt.chunk_s={self.chunk_s!r} must be in [0.01, 5] seconds")
        if not (isinstance(self.history_s, (int, float)) and self.history_s >= 2 * self.lag_s + 1):
            raise ParameterError(f"stt.history_s={self.history_s!r} must be >= 2 * lag_s + 1 = {2 * self.lag_s + 1} s")
        if self.sample_rate is not None and not (
            isinstance(self.sample_rate, int) and 8000 <= self.sample_rate <= 192000
        ):
            raise ParameterError(
                f"stt.sample_rate={self.sample_rate!r} must be None or an integer in [8000, 192000] Hz"
            )


# -- recognisers ----------------------------------------------------------------------------------
_VOSK_MODELS: dict[str, object] = {}


def load_vosk_model(path: Path):
    """The ``vosk.Model`` at ``path``, loaded once per process (a large model takes seconds and ~0.5 GiB)."""
    key = os.path.realpath(path)
    if key not in _VOSK_MODELS:
        vosk = require("vosk", "vosk")
        vosk.SetLogLevel(-1)
        try:
            _VOSK_MODELS[key] = vosk.Model(str(path))
        except Exception as exc:  # noqa: BLE001 - vosk raises a bare Exception("Failed to create a model")
            raise ModelError(f"vosk cannot load the model in {str(path)!r} ({exc}); {vosk_fix('en')}") from None
    return _VOSK_MODELS[key]


class VoskRecognizer:
    """vosk's ``KaldiRecognizer`` for the whole stream, each run ended by ``FinalResult()``.

    ``FinalResult()`` decodes the run's last frames and makes the next run start afresh
    (new feature pipeline and decoder, as a new recogniser would), while the recogniser
    keeps its expanded decoding graph: a new recogniser per run would expand it again, which
    costs more than the gate saves. vosk's own endpointing may end utterances inside a run.
    Word times count the audio fed since the recogniser was made. (``Result()`` would keep
    the speaker adaptation across runs, but leaves the last few hundred ms undecoded until
    more audio comes, holding a sentence's last words back until the next one ends.)
    """

    name = "vosk"

    def __init__(self, path: Path, rate: int):
        self._vosk = require("vosk", "vosk")
        self.model = load_vosk_model(path)
        self.rate = rate
        self._rec = None
        self._base = 0.0

    def begin(self, fed: int, gap_s: float | None) -> list[dict]:
        """A run starts; ``fed`` samples were fed before it."""
        if self._rec is None:
            rec = self._vosk.KaldiRecognizer(self.model, float(self.rate))
            rec.SetWords(True)
            self._rec = rec
            self._base = fed / self.rate  # its times count from here
        return []

    def idle(self, silence_s: float) -> list[dict]:
        return []

    def feed(self, pcm16: bytes) -> list[dict]:
        """Feed audio; returns the utterances vosk finalised (its own endpointing) as result dicts."""
        if self._rec.AcceptWaveform(pcm16):
            return [self._rebase(json.loads(self._rec.Result()))]
        return []

    def partial(self) -> str:
        return json.loads(self._rec.PartialResult()).get("partial", "")

    def end(self, last: bool) -> list[dict]:
        """The run ended (``last``: and so did the input)."""
        return [self._rebase(json.loads(self._rec.FinalResult()))]

    def _rebase(self, result: dict) -> dict:
        for w in result.get("result", []):
            w["start"] += self._base
            w["end"] += self._base
        return result

    @staticmethod
    def words(result: dict) -> list[tuple[float, float, str, float]]:
        return [(w["start"], w["end"], w["word"], float(w.get("conf", 1.0))) for w in result.get("result", [])]


class PocketsphinxRecognizer:
    """pocketsphinx's decoder; consecutive runs are grouped into one utterance decoded whole.

    pocketsphinx normalises its features by a cepstral mean and knows no context beyond
    an utterance. Decoding each short speech segment alone makes both worse than feeding
    it a whole file (dev corpus: WER 0.45 against 0.23 on ``jfk.flac``), so runs separated
    by less than ``group_gap_s`` are joined into one utterance (the silence between them
    left out) until it holds ``group_s`` of audio, and decoded as a complete utterance
    (``full_utt``, the utterance's own mean, as for a whole file) once the next gap is
    longer or the input ends. With ``partials`` each run is also decoded live, for
    captions while it lasts (twice the cost).
    """

    name = "pocketsphinx"
    _FILLERS = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")

    def __init__(self, path: Path, rate: int, partials: bool = True, group_s: float = 20.0, group_gap_s: float = 2.0):
        ps = require("pocketsphinx", "speech")
        parts = pocketsphinx_parts(path)

        def decoder():
            try:
                return ps.Decoder(
                    hmm=str(parts["acoustic model"]),
                    lm=str(parts["language model"]),
                    dict=str(parts["dictionary"]),
                    samprate=rate,
                    loglevel="FATAL",
                )
            except Exception as exc:  # noqa: BLE001 - pocketsphinx raises RuntimeError with little detail
                raise ModelError(f"pocketsphinx cannot load the model in {str(path)!r} ({exc})") from None

        self._decoder = decoder()  # finals: whole utterances
        # partials: a second decoder, live (its running cepstral mean must not touch the finals)
        self._live = decoder() if partials else None
        self._frate = int(self._decoder.config["frate"])
        self.rate = rate
        self.live = partials
        self.group_s, self.group_gap_s = group_s, group_gap_s
        self._base = 0
        self._group: list[bytes] = []
        self._group_n = 0  # samples in the group

    def begin(self, fed: int, gap_s: float | None) -> list[dict]:
        """A run starts, ``gap_s`` after the previous one ended; returns the group it closes, if any."""
        out = []
        if self._group and (gap_s is None or gap_s > self.group_gap_s or self._group_n >= self.group_s * self.rate):
            out = self._decode()
        if not self._group:
            self._base = fed
        if self.live:
            self._live.start_utt()
        return out

    def feed(self, pcm16: bytes) -> list[dict]:
        self._group.append(pcm16)
        self._group_n += len(pcm16) // 2
        if self.live:
            self._live.process_raw(pcm16, False, False)
        return []

    def partial(self) -> str:
        hyp = self._live.hyp() if self.live else None
        return hyp.hypstr if hyp is not None else ""

    def end(self, last: bool) -> list[dict]:
        if self.live:
            self._live.end_utt()
        return self._decode() if last else []

    def idle(self, silence_s: float) -> list[dict]:
        """No run for ``silence_s``: decode the open group once the gap is longer than ``group_gap_s``."""
        return self._decode() if self._group and silence_s > self.group_gap_s else []

    def _decode(self) -> list[dict]:
        if not self._group:
            return []
        d = self._decoder
        d.start_utt()
        d.process_raw(b"".join(self._group), False, True)
        d.end_utt()
        self._group, self._group_n = [], 0
        base = self._base / self.rate
        words = []
        for seg in d.seg():
            if self._FILLERS.match(seg.word):
                continue
            word = re.sub(r"\(\d+\)$", "", seg.word)
            words.append(
                {
                    "start": base + seg.start_frame / self._frate,
                    "end": base + (seg.end_frame + 1) / self._frate,
                    "word": word,
                    "conf": min(1.0, max(0.0, float(seg.prob))),
                }
            )
        return [{"text": " ".join(w["word"] for w in words), "result": words}]

    words = staticmethod(VoskRecognizer.words)


def _whisper_backend(params: STTParams):
    """(``"whisper"``, model folder, 16000, True), or None where ``engine="auto"`` finds no Whisper model."""
    from rtaudio.models.whisper import resolve_whisper

    path = params.model_path if params.model_path and (Path(params.model_path) / "model.bin").is_file() else None
    if params.engine == "auto" and params.model_path and path is None:
        return None  # a vosk or pocketsphinx folder
    try:
        require("faster_whisper", "models")
        return "whisper", resolve_whisper(path or params.whisper_model), 16000, True
    except (ModelError, MissingDependencyError):
        if params.engine == "whisper":
            raise
        return None


def choose_backend(params: STTParams):
    """(engine name, model path, model rate, upsampling allowed) for ``params``; clear errors when nothing fits."""
    if params.engine in ("auto", "whisper"):
        found = _whisper_backend(params)
        if found is not None:
            return found
    lang = AUTO_START if params.language == AUTO else params.language
    if lang not in VOSK_LANGUAGES and params.engine != "pocketsphinx":
        raise ParameterError(
            f"stt.language={lang!r} has no vosk model in rtaudio's registry; known: {', '.join(sorted(VOSK_LANGUAGES))}"
        )
    if params.engine == "pocketsphinx" or (
        params.engine == "auto" and params.model_path and pocketsphinx_parts(Path(params.model_path))["acoustic model"]
    ):
        if lang != "en":
            raise ParameterError(f"stt.engine=pocketsphinx transcribes English only; stt.language={lang!r}")
        require("pocketsphinx", "speech")
        return "pocketsphinx", find_pocketsphinx(params.model_path), 16000, True
    try:
        path = find_vosk(lang, params.model_path)
        require("vosk", "vosk")
    except (ModelError, MissingDependencyError):
        if params.engine == "vosk" or lang != "en" or params.model_path:
            raise
        require("pocketsphinx", "speech")
        return "pocketsphinx", find_pocketsphinx(), 16000, True
    rate, upsample = vosk_model_rate(path)
    return "vosk", path, rate, upsample


# -- the stage ------------------------------------------------------------------------------------
class STTStage(Stage):
    """Speech-to-text on the vad stage's speech segments (see the module docstring).

    Parameters
    ----------
    params : STTParams
    sample_rate : int > 0, Hz
        The source's rate (speech events arrive on the source clock).
    worker : {"thread", "process"}
        Where the recogniser runs: in the caller's thread, or in a child process
        (:mod:`rtaudio.worker`), so that its decoding (which holds the GIL) cannot stall other
        threads. Pipeline placement ``"process"`` (:mod:`rtaudio.pipeline`) builds the stage with it.
        Same results either way (whisper: in a child process its decodes are asynchronous, so live
        captions depend on its speed; finals do not).

    Attributes
    ----------
    engine : str
        ``"whisper"``, ``"vosk"`` or ``"pocketsphinx"``.
    model_path : Path
    fed_s : float
        Seconds of audio the recogniser has been given (the cost of transcription).
    late_ends : int
        Segment ends that arrived after the recogniser had been fed past them (``lag_s`` too small).
    language : str
        The language being transcribed (ISO 639-1).
    switches : list of (int, str, str)
        ``language="auto"``: (stage-clock sample where the run starts, language, engine) for each switch.
    runs : list of (int, int)
        The runs transcribed so far, [start, end) in samples at :attr:`rate`.
    """

    name = "stt"
    emits = (PartialTranscript, Transcript, Word)
    slow = True  # a recogniser: the pipeline may run it in its lane
    listens = (SpeechStart, SpeechEnd, Language)

    def __init__(self, params: STTParams | None = None, *, sample_rate: int = 16000, worker: str = "thread"):
        check_worker("stt", worker)
        self.worker = worker
        self.params = p = params or STTParams()
        self.source_rate = sample_rate
        self.engine, self.model_path, model_rate, upsample = choose_backend(p)
        if p.sample_rate is not None and p.sample_rate != model_rate:
            raise ModelError(
                f"the {self.engine} model in {str(self.model_path)!r} is for {model_rate} Hz audio, "
                f"but stt.sample_rate={p.sample_rate}; leave stt.sample_rate unset to run at the "
                "model's rate, or use a model trained for that rate"
            )
        if not upsample and sample_rate < model_rate:
            raise ModelError(
                f"the input is {sample_rate} Hz but the vosk model in {str(self.model_path)!r} needs "
                f"{model_rate} Hz and forbids upsampling (conf/mfcc.conf --allow-upsample=false); "
                f"use a model for {sample_rate} Hz audio"
            )
        self.rate = model_rate
        self.language = AUTO_START if p.language == AUTO else p.language
        if self.engine == "whisper" and p.language == AUTO:
            self.language = AUTO  # Whisper detects it until the lid stage decides
        self._initial = (self.language, self.engine, self.model_path)
        self._rec = self._recognizer(self.engine, self.model_path)
        self._chunk = max(1, round(p.chunk_s * model_rate))
        self._lag = round(p.lag_s * model_rate)
        self._pre = round(p.pre_roll_s * model_rate)
        self._post = round(p.post_roll_s * model_rate)
        self._keep = round(p.history_s * model_rate)
        self.reset()

    def reset(self) -> None:
        if (self.language, self.engine, self.model_path) != self._initial:  # language="auto" switched
            self.language, self.engine, self.model_path = self._initial
            self._rec = self._recognizer(self.engine, self.model_path)
        if self.engine == "whisper":  # forget pending decodes and the lid stage's language
            self._rec.reset(None if self.language == AUTO else self.language)
        self._audio = History()
        self._runs: list[list] = []  # [start, end or None] (stage clock), in order; the first is being fed
        self._fed = 0  # stage-clock index up to which the current run was fed
        self._active = False  # the recogniser has an open run
        self._fed_total = 0  # samples given to the recogniser so far (its own clock)
        self._pieces: list[tuple[int, int]] = []  # (recogniser clock, stage clock) where each run starts
        self._last_partial = ""
        self._prev_end: int | None = None  # where the last finished run ended (stage clock)
        self.runs: list[tuple[int, int]] = []  # finished runs [start, end), stage clock
        self.fed_s = 0.0
        self.late_ends = 0
        self.switches: list[tuple[int, str, str]] = []
        self._wanted: tuple[str, str, Path] | None = None  # (language, engine, model) to switch to at the next run
        self._unavailable: set[str] = set()  # languages with no usable model here (looked up once)
        if not self.params.gate:
            self._runs = [[0, None]]

    def requires(self):
        return (SpeechStart, SpeechEnd) if self.params.gate else ()

    def requires_hint(self) -> str:
        return ", or set stt.gate=false to transcribe all the audio"

    def close(self) -> None:
        close = getattr(self._rec, "close", None)  # a child process or a whisper worker
        if close is not None:
            close()

    # -- events from the vad ------------------------------------------------------------------
    def _to_stage(self, t: int) -> int:
        return t if self.source_rate == self.rate else round(t * self.rate / self.source_rate)

    def _recognizer(self, engine: str, path: Path):
        p = self.params
        if engine == "whisper":
            from rtaudio.stages.stt_whisper import WhisperRecognizer

            return WhisperRecognizer(
                path,
                self.rate,
                partials=p.partials,
                language=None if self.language == AUTO else self.language,
                worker=self.worker,
                partial_s=p.partial_s,
                beam_size=p.beam_size,
                window_s=p.window_s,
            )
        if engine == "vosk":
            factory, args, kwargs = VoskRecognizer, (path, self.rate), {}
        else:
            factory, args = PocketsphinxRecognizer, (path, self.rate)
            kwargs = {"partials": p.partials, "group_s": p.group_s, "group_gap_s": p.group_gap_s}
        if self.worker == "process":
            return ProcessProxy(factory, *args, **kwargs)
        return factory(*args, **kwargs)

    def _follow(self, e: Language) -> None:
        """A lid decision: remember a model to switch to at the next run, when one is installed for it."""
        lang = e.language
        current = self._wanted[0] if self._wanted else self.language
        if lang == current or lang in self._unavailable or lang not in VOSK_LANGUAGES:
            return
        if lang == self.language:  # back to the one running: forget the pending switch
            self._wanted = None
            return
        try:
            engine, path, rate, upsample = choose_backend(replace(self.params, language=lang, model_path=None))
        except (ModelError, MissingDependencyError, ParameterError):
            self._unavailable.add(lang)
            return
        if rate != self.rate or (not upsample and self.source_rate < rate):  # the stage's rate is fixed
            self._unavailable.add(lang)
            return
        self._wanted = (lang, engine, path)

    def _switch(self, start: int) -> list[Event]:
        """Change recogniser (between runs); returns what the old one still held."""
        lang, engine, path = self._wanted
        self._wanted = None
        events = self._results(self._rec.idle(float("inf")))  # pocketsphinx: its open group
        self._rec = self._recognizer(engine, path)
        self.language, self.engine, self.model_path = lang, engine, path
        self.switches.append((start, lang, engine))
        return events

    def observe(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Language):
                if self.params.language == AUTO and self.engine == "whisper":
                    if e.language != "unknown":  # the next runs are transcribed in it
                        self._rec.set_language(e.language)
                elif self.params.language == AUTO:
                    self._follow(e)
            elif not self.params.gate:
                continue
            elif isinstance(e, SpeechStart):
                # a run never reaches back into the previous one (its start is clamped when fed)
                self._runs.append([max(0, self._to_stage(e.t) - self._pre), None])
            elif isinstance(e, SpeechEnd) and self._runs and self._runs[-1][1] is None:
                run = self._runs[-1]
                end = self._to_stage(e.t) + self._post
                if run is self._runs[0] and self._active and self._fed > end:
                    self.late_ends += 1
                    end = self._fed
                run[1] = max(end, run[0])

    # -- audio ----------------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Event]:
        self._audio.append(frame.index, frame.mono)
        events = self._advance(final=False)
        keep = self._audio.end - self._keep
        if self._runs:
            keep = min(keep, self._runs[0][0] if not self._active else self._fed)
        self._audio.keep_from(keep)
        return events

    def flush(self) -> list[Event]:
        end = self._audio.end
        for run in self._runs:
            if run[1] is None or run[1] > end:
                run[1] = max(run[0], end)
        return self._advance(final=True)

    def _advance(self, final: bool) -> list[Event]:
        events: list[Event] = []
        audio = self._audio
        while self._runs:
            start, end = self._runs[0]
            if not self._active:
                start = max(start, audio.start, self._fed)
                self._runs[0][0] = start
                if end is not None and end <= start:
                    self._runs.pop(0)
                    continue
                if start >= audio.end and not final:
                    break
                if self._wanted is not None:
                    events += self._switch(start)
                gap = None if self._prev_end is None else (start - self._prev_end) / self.rate
                events += self._results(self._rec.begin(self._fed_total, gap))
                self._pieces.append((self._fed_total, start))
                self._active, self._fed, self._last_partial = True, start, ""
            limit = audio.end if end is None else min(end, audio.end)
            if end is None and self.params.gate:
                limit = audio.end - self._lag
            while self._fed + self._chunk <= limit:
                events += self._feed(self._fed, self._fed + self._chunk)
            if end is not None and (end <= audio.end or final):
                if self._fed < min(end, audio.end):
                    events += self._feed(self._fed, min(end, audio.end))
                events += self._results(self._rec.end(last=final))
                self._active = False
                self._fed = max(self._fed, end)
                self._prev_end = end
                self.runs.append((start, min(end, audio.end)))
                self._runs.pop(0)
                continue
            break
        if not self._active and self._prev_end is not None:
            # a group nothing joined within group_gap_s (judged lag_s late: a start is reported after the fact)
            silence = (audio.end - self._lag - self._prev_end) / self.rate
            events += self._results(self._rec.idle(float("inf") if final else silence))
        return events

    def _feed(self, a: int, b: int) -> list[Event]:
        x = self._audio.get(a, b)
        pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        self._fed = b
        self._fed_total += b - a
        self.fed_s += (b - a) / self.rate
        events = self._results(self._rec.feed(pcm))
        if self.params.partials:
            text = self._rec.partial()
            if text != self._last_partial:
                self._last_partial = text
                if text:
                    events.append(PartialTranscript(b, text))
        return events

    def _to_source(self, t: float, piece: int | None = None) -> tuple[int, int]:
        """Recogniser time ``t`` (s of audio fed) -> (stage-clock sample, index of its run piece)."""
        fed = round(t * self.rate)
        if piece is None:
            piece = max(0, bisect.bisect_right(self._pieces, (fed, float("inf"))) - 1)
        base, start = self._pieces[piece]
        return start + fed - base, piece

    def _results(self, results: list[dict]) -> list[Event]:
        events: list[Event] = []
        for result in results:
            self._last_partial = ""
            words = []
            for s, e, w, c in self._rec.words(result):
                start, piece = self._to_source(s)
                end, _ = self._to_source(e, piece)  # a word never spans the gap between two runs
                if piece + 1 < len(self._pieces):
                    end = min(end, start + self._pieces[piece + 1][0] - round(s * self.rate))
                words.append(Word(start, max(end, start), w, c))
            text = result.get("text", "").strip()
            if not text or not words:
                continue
            words = tuple(words)
            language = result.get("language") or ("" if self.language == AUTO else self.language)
            events.append(Transcript(words[0].start, words[-1].end, text, words, self.engine, language))
            if self.params.word_events:
                events.extend(words)
        return events
