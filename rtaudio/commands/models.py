"""rtaudio models: list the models rtaudio knows, show where one is, fetch one."""

from __future__ import annotations

import sys

NAME = "models"
ORDER = 80
HELP = "list, locate and fetch the models (VAD, speech recognition, ...)"
DESCRIPTION = """Models are found, in order, at an explicit path, in their environment variable, in the user
cache ($RTAUDIO_CACHE/models or ~/.cache/rtaudio/models), in an installed package that carries
them, or downloaded on request with the engine's own downloader ('fetch', needs the network)."""
EXAMPLES = """examples:
  rtaudio models list
  rtaudio models path vosk-ko
  rtaudio models fetch vosk-en          # vosk's downloader, into the user cache
  .venv-spleeter/bin/rtaudio models export-spleeter spleeter-2stems   # to ONNX, for --backend onnx
  rtaudio models export-langid voxlingua107   # SpeechBrain's 107-language model to ONNX (network once)"""


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="every model, and where it is found (or how to get it)")
    ls.add_argument("--missing", action="store_true", help="also print the fix for each missing model")
    path = sub.add_parser("path", help="print the path of one model (error with the fix when missing)")
    path.add_argument("name", help="model name, e.g. silero-vad, vosk-en, pocketsphinx-en")
    fetch = sub.add_parser("fetch", help="download one model into the user cache")
    fetch.add_argument("name", help="model name, e.g. vosk-en")
    from rtaudio.commands import export_spleeter

    export = sub.add_parser(
        "export-spleeter",
        help=export_spleeter.HELP,
        description=export_spleeter.DESCRIPTION,
        epilog=export_spleeter.EXAMPLES,
        formatter_class=p.formatter_class,
    )
    export_spleeter.add_arguments(export)
    from rtaudio.commands import export_langid

    lang = sub.add_parser(
        "export-langid",
        help=export_langid.HELP,
        description=export_langid.DESCRIPTION,
        epilog=export_langid.EXAMPLES,
        formatter_class=p.formatter_class,
    )
    export_langid.add_arguments(lang)


def _where(spec) -> tuple[str, str]:
    """(place, path) where the registry finds ``spec``, or ("missing", fix)."""
    from rtaudio.errors import ModelError
    from rtaudio.models import registry

    try:
        path = registry.resolve(spec.name)
    except ModelError as exc:
        return "missing", str(exc)
    import os

    if os.environ.get(spec.env):
        place = f"${spec.env}"
    elif path == registry.cache_dir() / spec.name:
        place = "user cache"
    else:
        place = "package"
    return place, str(path)


def run(args) -> int:
    from pathlib import Path

    from rtaudio.models import registry

    if args.action == "export-spleeter":
        from rtaudio.commands import export_spleeter

        return export_spleeter.run(args)
    if args.action == "export-langid":
        from rtaudio.commands import export_langid

        return export_langid.run(args)
    if args.action == "path":
        print(registry.resolve(args.name))
        return 0
    if args.action == "fetch":
        registry.spec(args.name)  # unknown names fail before any download
        path = registry.fetch(args.name)
        print(f"{args.name}: {path}")
        return 0
    specs = registry.known_models()
    width = max(len(s.name) for s in specs)
    for spec in specs:
        place, where = _where(spec)
        if place == "missing":
            line = f"{spec.name:<{width}}  missing    {spec.description}"
            if args.missing:  # why: not found (with the fix), or found but failing its check (hashes)
                line += f"\n{'':<{width}}             {where}"
        else:
            line = f"{spec.name:<{width}}  {place:<9}  {where}"
            extra = [spec.status(Path(where))] if spec.status else []
            if spec.licence:
                extra.append(f"licence: {spec.licence}")
            if extra:
                line += f"\n{'':<{width}}             " + "; ".join(extra)
        print(line)
    print(f"cache: {registry.cache_dir()}", file=sys.stderr)
    return 0
