"""One module per CLI verb, found by :mod:`rtaudio.cli` without a central list.

A command module defines::

    NAME = "verb"            # what the user types
    HELP = "one line"        # shown in `rtaudio --help`
    DESCRIPTION = "..."      # shown in `rtaudio verb --help`
    EXAMPLES = "examples:\n  rtaudio verb ..."   # every verb shows at least one
    ORDER = 50               # position in `rtaudio --help` (smaller first)

    def add_arguments(parser): ...
    def run(args) -> int: ...

Shared options and plumbing live in :mod:`rtaudio.commands.common`.
"""
