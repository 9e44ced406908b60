"""The ``rtaudio`` command line.

Verbs are the modules of :mod:`rtaudio.commands` (found at start-up, no central
list). Every verb prints an example in its ``--help``; errors the user can fix
are one line on stderr (``rtaudio: error: ...``) with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from rtaudio import __version__
from rtaudio.errors import RtaudioError


def command_modules() -> list:
    """The command modules, in ``ORDER``."""
    import rtaudio.commands as package

    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"rtaudio.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.NAME))


def build_parser() -> argparse.ArgumentParser:
    from rtaudio.commands.common import Formatter, option_flags

    parser = argparse.ArgumentParser(
        prog="rtaudio",
        description="Real-time streaming audio analyzer: spectrum, loudness and more, from files, videos, "
        "network streams, sound devices and stdin.",
        epilog="Run 'rtaudio VERB --help' for the options and an example of each verb.",
        formatter_class=Formatter,
    )
    parser.add_argument("--version", action="version", version=f"rtaudio {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for module in command_modules():
        p = verbs.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.DESCRIPTION,
            epilog=module.EXAMPLES,
            formatter_class=Formatter,
        )
        module.add_arguments(p)
        p.set_defaults(func=module.run, _flags=option_flags(p))
    return parser


def main(argv: list[str] | None = None) -> int:
    """The program (``argv`` None: ``sys.argv``); exit status 0, 2 for an error the user can fix, 130 on Ctrl-C
    (``analyze`` instead stops cleanly and exits 0). A library error's parameters are shown as their flags."""
    from rtaudio.commands import common

    common.AS_PROGRAM = argv is None
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RtaudioError as exc:
        print(f"rtaudio: error: {common.name_flags(str(exc), exc.params, args._flags)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rtaudio: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rtaudio analyze x -o - | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
