"""rtaudio langid: the spoken language of an input (its speech only), as one JSON object."""

from __future__ import annotations

import json
import sys
import warnings

from rtaudio.commands.common import add_input, open_input

NAME = "langid"
ORDER = 25
HELP = "identify the spoken language of an input"
DESCRIPTION = (
    "Decide the spoken language of the speech in an input and print it as JSON: "
    '{"language": "fr", "probability": 0.93, "top": [["fr", 0.93], ...], "speech_s": 12.3} '
    '("unknown" when unsure or when there is no speech). Whisper decides where its model is found '
    "(rtaudio models list), rtaudio's phonotactic ONNX model otherwise; the model used is named on stderr. "
    "See docs/langid.md for the models' accuracy."
)
EXAMPLES = """examples:
  rtaudio langid interview.mp4
  rtaudio langid call.wav --first 3            # decide on the first 3 s of speech
  rtaudio langid talk.ogg --languages en,fr    # only these candidates
  rtaudio langid talk.ogg --lid-backend onnx   # the light phonotactic model, not Whisper
  rtaudio langid talk.ogg --whisper-model ./faster-whisper-small   # any faster-whisper model folder
  rtaudio langid talk.ogg --langid-model ./my-langid.onnx
  rtaudio langid talk.ogg --langid-model voxlingua107   # after: rtaudio models export-langid voxlingua107"""


def add_arguments(p) -> None:
    add_input(p)
    g = p.add_argument_group("language ID")
    g.add_argument("--first", type=float, metavar="S", help="decide on the first S seconds of speech only")
    g.add_argument("--languages", default="", metavar="CODES", help="comma-separated candidate languages (ISO 639-1)")
    g.add_argument(
        "--langid-model",
        default="langid",
        metavar="NAME|PATH",
        help="registry name (langid, voxlingua107) or ONNX file",
    )
    g.add_argument(
        "--lid-backend",
        choices=("auto", "whisper", "onnx"),
        default="auto",
        help="whisper (Whisper's language decision), onnx (--langid-model), auto: whisper where its model is found",
    )
    g.add_argument(
        "--whisper-model",
        default="whisper-base",
        metavar="NAME|PATH",
        help="whisper backend: registry name (whisper-base) or a faster-whisper model folder",
    )
    g.add_argument("--threshold", type=float, default=0.5, help="below this probability: unknown")
    g.add_argument(
        "--gate",
        choices=("auto", "vad", "energy"),
        default="auto",
        help="how speech is found: the VAD stage when installed (auto), or an energy gate",
    )


def run(args) -> int:
    print(json.dumps(identify(args)))
    return 0


def identify(args) -> dict:
    """Run the input through (vad +) lid and return the whole-input decision."""
    from rtaudio.engine import Engine
    from rtaudio.errors import ParameterError
    from rtaudio.stages import STAGES, build_stages
    from rtaudio.stages.lid import UntrainedModelWarning

    if args.first is not None and not args.first > 0:
        raise ParameterError(f"--first={args.first} must be a positive number of seconds")
    source = open_input(args)
    use_vad = "vad" in STAGES and args.gate in ("auto", "vad")
    lid = {
        "model": args.langid_model,
        "languages": args.languages,
        "threshold": str(args.threshold),
        "gate": "vad" if use_vad else "energy",
        "backend": getattr(args, "lid_backend", "auto"),
        "whisper_model": getattr(args, "whisper_model", "whisper-base"),
        "live": "false",  # one decision on all the speech (or the first --first seconds)
    }
    if args.first is not None:
        lid["max_speech_s"] = str(args.first)
        lid["window_s"] = str(min(2.0, args.first))
    names = (["vad"] if use_vad else []) + ["lid"]
    with warnings.catch_warnings():  # an untrained model is said once, below, not as a Python warning
        warnings.simplefilter("ignore", UntrainedModelWarning)
        stages = build_stages(names, sample_rate=source.rate, channels=source.channels, config={"lid": lid})
    lid_stage = stages[-1]
    print(f"rtaudio: language ID by {lid_stage.description}", file=sys.stderr)
    if lid_stage.model is not None and lid_stage.model.untrained:
        print(f"rtaudio: {lid_stage.model.note}", file=sys.stderr)
    Engine(source, stages, []).run()  # raises what the source or a stage raised
    decision = lid_stage.decision()
    if lid_stage.model is not None and lid_stage.model.untrained:
        decision["untrained_model"] = True
    return decision
