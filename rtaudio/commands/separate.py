"""rtaudio separate: split a file into stems (vocals/accompaniment, or 4/5 spleeter stems)."""

from __future__ import annotations

import sys

NAME = "separate"
ORDER = 40
HELP = "split a file into stems (vocals/accompaniment; drums/bass/other/piano with spleeter)"
DESCRIPTION = """Separate the audio of a file or video into stems, one file per stem written straight into DIR
(spleeter's names: vocals.wav and accompaniment.wav for 2 stems; vocals, drums, bass, other (and piano)
for 4 and 5), each as long as the input at its rate and channels, plus DIR/separation.json.
The stems appear when complete (a killed run leaves none, or the previous ones); a stem may not be the input.

Backends: spleeter (TensorFlow, the [spleeter] extra in its own venv), onnx (a spleeter model exported
with 'rtaudio models export-spleeter', needs only onnxruntime), dsp (no weights: a repeating-pattern and
steady-bin model of the accompaniment; 2 stems only, far below spleeter). 'auto' uses onnx or
spleeter when a real pretrained model is installed, and says in one line when it falls back to dsp.
Long inputs are separated in overlapping segments, so memory stays bounded."""
EXAMPLES = """examples:
  rtaudio separate interview.mp4 -o stems/                       # vocals.wav + accompaniment.wav
  rtaudio separate song.flac -o stems/ --stems 4 --backend spleeter
  rtaudio separate song.flac -o stems/ --backend onnx --model ~/models/spleeter-2stems-onnx
  rtaudio separate talk.wav -o stems/ --backend dsp --format flac"""


def add_arguments(p) -> None:
    p.add_argument("input", help="audio or video file")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the stems and separation.json")
    p.add_argument("--stems", type=int, choices=[2, 4, 5], default=2, help="how many stems")
    p.add_argument("--backend", choices=["auto", "spleeter", "onnx", "dsp"], default="auto", help="separation backend")
    p.add_argument(
        "--model",
        metavar="PATH",
        help="model folder (spleeter checkpoint, or exported ONNX folder); "
        "default: the registry's (see 'rtaudio models list')",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        choices=["wav", "flac"],
        default="wav",
        help="stem files: 32-bit float WAV (stems add back exactly) or 24-bit FLAC",
    )
    p.add_argument("--stream", type=int, default=0, metavar="N", help="audio stream of a video/container (0 = first)")
    p.add_argument("--segment", type=float, metavar="S", help="segment length in seconds (default: the backend's)")
    p.add_argument("--overlap", type=float, metavar="S", help="cross-fade between segments in seconds")
    p.add_argument(
        "--frames", type=int, metavar="N", help="onnx: STFT frames per network call, a multiple of 64 (64 = 1.49 s)"
    )
    p.add_argument(
        "--dialogue",
        action="store_true",
        help="2 stems: vocals = dialogue only, singing to the accompaniment (spleeter-2stems-dialogue, "
        "built by 'make dialogue-model'; else plain spleeter, saying so)",
    )


def run(args) -> int:
    from rtaudio.jobs.separation import SeparationParams, separate_file

    params = SeparationParams(
        stems=args.stems,
        backend=args.backend,
        model=args.model,
        segment_s=args.segment,
        overlap_s=args.overlap,
        frames=args.frames,
        dialogue=args.dialogue,
    )
    summary = separate_file(args.input, args.output, params, fmt=args.fmt, stream=args.stream)
    if summary["note"]:
        print(f"rtaudio: {summary['note']}", file=sys.stderr)
    stems = ", ".join(summary["stems"])
    model = summary["model"] or {}
    used = ""
    if model.get("name") not in (None, summary["backend"]):  # which model ran, and where it came from
        used = f" ({model['name']}" + (f", {model['source']}" if model.get("source") else "") + ")"
    print(
        f"{summary['backend']}{used}: {summary['duration_s']:.1f} s -> {stems} in {args.output} "
        f"({summary['seconds']:.1f} s, {summary['speed_x_realtime']}x real time); summary: "
        f"{args.output.rstrip('/')}/separation.json",
        file=sys.stderr,
    )
    return 0
