"""rtaudio devices: list the sound devices."""

from __future__ import annotations

NAME = "devices"
ORDER = 30
HELP = "list sound devices"
DESCRIPTION = "List the sound devices PortAudio sees (index, name, host API, channels, default rate)."
EXAMPLES = """examples:
  rtaudio devices
  rtaudio monitor --device 2      # then monitor one of them by index or name"""


def add_arguments(p) -> None:
    pass


def run(args) -> int:
    from rtaudio.sources.device import format_devices

    print(format_devices())
    return 0
