"""Measure a langid model on the real dev corpus (``$RTAUDIO_CORPUS/speech_lid``, FLEURS en/de/fr/es/pt).

Measurement only: nothing here feeds back into training. Runs every clip through the same code path
as ``rtaudio langid`` (whole clip, and ``--first 3``) and writes ``corpus_eval.json`` and
``corpus_eval.md`` (accuracy per language and a confusion matrix) beside the model, which
``train.py`` folds into ``MODEL_CARD.md``.

Usage::

    python models/langid/evaluate.py [--model rtaudio/models/data/langid/langid.onnx] [--gate energy] [--languages ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from argparse import Namespace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))


def corpus_dir() -> Path:
    return Path(os.environ.get("RTAUDIO_CORPUS") or ROOT.parent / "shared" / "corpus")


def run(model: str, gate: str, languages: str, first: float | None) -> list[tuple[str, str, dict]]:
    from rtaudio.commands.langid import identify

    root = corpus_dir()
    rows = [
        r
        for r in csv.DictReader(open(root / "MANIFEST.csv", encoding="utf-8"))
        if r["file"].startswith("speech_lid/") and r["file"].endswith(".ogg")
    ]
    out = []
    for r in rows:
        args = Namespace(
            input=str(root / r["file"]),
            stream=0,
            realtime=False,
            rate=None,
            channels=None,
            sample_format="s16le",
            first=first,
            languages=languages,
            langid_model=model,
            threshold=0.0,
            gate=gate,
        )
        out.append((r["file"], r["language"], identify(args)))
    return out


def table(results) -> tuple[float, dict, dict]:
    from train import confusion

    r = confusion([l for _, l, _ in results], [d["language"] for _, _, d in results])
    return r["accuracy"], r["per_language"], r["confusion"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(ROOT / "rtaudio" / "models" / "data" / "langid" / "langid.onnx"))
    p.add_argument("--gate", default="energy", choices=("energy", "auto", "vad"))
    p.add_argument("--languages", default="", help="restrict the candidates, e.g. en,de,fr,es,pt")
    p.add_argument(
        "--out",
        default=None,
        help="folder for corpus_eval.* (default: models/langid for the shipped model, else beside it)",
    )
    p.add_argument("--name", default="", help="a label for this measurement in the report")
    args = p.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from train import confusion_md

    shipped = Path(args.model).resolve().parent == ROOT / "rtaudio" / "models" / "data" / "langid"
    out_dir = Path(args.out) if args.out else HERE if shipped else Path(args.model).parent
    report, md = {}, []
    restrict = f", candidates restricted to {args.languages}" if args.languages else ", all labels as candidates"
    md.append(f"## Accuracy on REAL speech: dev corpus speech_lid (FLEURS, 25 clips){restrict}\n")
    md.append(
        "Measured with `python models/langid/evaluate.py"
        + (f" --languages {args.languages}" if args.languages else "")
        + f" --gate {args.gate}`; "
        "top-1 per clip, chance is 20 % over the five corpus languages (11 % over all nine labels); "
        "at 25 clips each figure carries about +-10 points of noise.\n"
    )
    for name, first in (("whole clip", None), ("first 3 s of speech", 3.0)):
        res = run(args.model, args.gate, args.languages, first)
        acc, per, conf = table(res)
        report[name] = {
            "accuracy": acc,
            "per_language": per,
            "confusion": conf,
            "clips": [[f, l, d] for f, l, d in res],
        }
        md.append(
            f"### {name}: top-1 **{acc:.0%}** ({sum(conf[l][l] for l in conf)}/{len(res)}); per language: "
            + ", ".join(f"{l} {v:.0%}" for l, v in per.items())
            + "\n"
        )
        md.append(confusion_md(conf) + "\n")
        print(f"{name}: {acc:.3f} {json.dumps({l: round(v, 2) for l, v in per.items()})}", flush=True)
    suffix = f"_{args.name}" if args.name else ""
    (out_dir / f"corpus_eval{suffix}.json").write_text(json.dumps(report, indent=1))
    (out_dir / f"corpus_eval{suffix}.md").write_text("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
