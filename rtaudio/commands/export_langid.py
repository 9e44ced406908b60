"""``rtaudio models export-langid``: convert SpeechBrain's VoxLingua107 language-ID model to ONNX for the lid stage.

An action of the ``models`` verb (rtaudio/commands/models.py), kept in its own module.
"""

from __future__ import annotations

import sys

HELP = "convert SpeechBrain's VoxLingua107 language-ID model to ONNX (needs the [export] extra once)"
DESCRIPTION = """Convert SpeechBrain's VoxLingua107 ECAPA-TDNN (speechbrain/lang-id-voxlingua107-ecapa, 107 languages)
to one ONNX graph with its feature front end inside (16 kHz waveform in, log-probabilities out) plus its
labels.json, for 'rtaudio langid --langid-model voxlingua107' and the lid stage, which then need only
onnxruntime. The checkpoint is fetched from HuggingFace once (needs the network), or read from an
already-downloaded SpeechBrain model folder with --checkpoint (hyperparams.yaml, embedding_model.ckpt,
classifier.ckpt, label_encoder.txt). The export goes to the user cache as voxlingua107/ (or -o DIR),
where the registry finds it."""
EXAMPLES = """examples:
  pip install 'rtaudio[export]'
  rtaudio models export-langid voxlingua107
  rtaudio models export-langid voxlingua107 --checkpoint ~/Downloads/lang-id-voxlingua107-ecapa
  rtaudio langid talk.ogg --langid-model voxlingua107"""


def add_arguments(p) -> None:
    p.add_argument("name", choices=["voxlingua107"], help="which model")
    p.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="an already-downloaded SpeechBrain model folder "
        "(default: fetch speechbrain/lang-id-voxlingua107-ecapa from HuggingFace)",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="where to write langid.onnx and labels.json (default: the user cache, where the registry finds it)",
    )
    p.add_argument("--opset", type=int, default=17, help="ONNX opset")


def run(args) -> int:
    import time
    import warnings
    from pathlib import Path

    from rtaudio.errors import require
    from rtaudio.models import voxlingua
    from rtaudio.models.registry import cache_dir

    require("torch", "export")
    require("onnx", "export")
    out = Path(args.output) if args.output else cache_dir() / args.name
    source = Path(args.checkpoint) if args.checkpoint else voxlingua.download(cache_dir() / f".{args.name}-speechbrain")
    t0 = time.perf_counter()
    model, labels = voxlingua.load_checkpoint(source)
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notes
        warnings.simplefilter("ignore")
        path = voxlingua.export(model, labels, out, untrained=False, source=str(source), opset=args.opset)
    print(
        f"exported {source} ({len(labels)} languages) -> {path} in {time.perf_counter() - t0:.1f} s; use it with: "
        f"rtaudio langid INPUT --langid-model {'voxlingua107' if args.output is None else out}",
        file=sys.stderr,
    )
    return 0
