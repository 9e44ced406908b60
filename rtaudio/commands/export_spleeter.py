"""``rtaudio models export-spleeter``: convert a spleeter checkpoint to ONNX for the onnx separation backend.

An action of the ``models`` verb (rtaudio/commands/models.py), kept in its own module.
"""

from __future__ import annotations

import sys

HELP = "convert a spleeter model to ONNX (needs the [spleeter] extra once)"
DESCRIPTION = """Convert a spleeter TensorFlow checkpoint to ONNX, for 'rtaudio separate --backend onnx', which then
needs only onnxruntime (no TensorFlow, numpy 1 or 2). Only the U-Net goes into the graph; the STFT and
inverse STFT run in numpy exactly as spleeter computes them. NAME is a registry name (spleeter-2stems,
spleeter-4stems, spleeter-5stems), found as 'rtaudio models list' shows, or give the folder with --model.
The export goes to the user cache as NAME-onnx (or -o DIR), where the registry finds it."""
EXAMPLES = """examples:
  .venv-spleeter/bin/rtaudio models export-spleeter spleeter-2stems
  .venv-spleeter/bin/rtaudio models export-spleeter spleeter-4stems --model pretrained_models/4stems -o ~/models/4stems-onnx
  rtaudio separate song.flac -o stems/ --backend onnx --stems 4 --model ~/models/4stems-onnx"""


def add_arguments(p) -> None:
    p.add_argument(
        "name", choices=["spleeter-2stems", "spleeter-4stems", "spleeter-5stems"], help="which spleeter model"
    )
    p.add_argument("--model", metavar="DIR", help="the spleeter checkpoint folder (default: the registry's)")
    p.add_argument("-o", "--output", metavar="DIR", help="where to write model.onnx (default: the user cache)")
    p.add_argument("--opset", type=int, default=13, help="ONNX opset")


def run(args) -> int:
    from rtaudio.errors import require
    from rtaudio.jobs.separation import is_test_model
    from rtaudio.jobs.separation.onnx import export_spleeter
    from rtaudio.models.registry import cache_dir, resolve

    require("tensorflow", "spleeter")
    require("tf2onnx", "spleeter")
    stems = int(args.name.split("-")[1][0])
    source = resolve(args.name, args.model)
    out = args.output or str(cache_dir() / f"{args.name}-onnx")
    export_spleeter(source, out, stems=stems, opset=args.opset)
    warn = " (a TEST model with random weights: not a separation model)" if is_test_model(source) else ""
    print(
        f"exported {source}{warn} -> {out}/model.onnx; use it with: rtaudio separate INPUT -o DIR "
        f"--backend onnx --stems {stems}" + ("" if args.output is None else f" --model {out}"),
        file=sys.stderr,
    )
    return 0
