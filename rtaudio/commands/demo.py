"""rtaudio demo: synthesize a short video, analyse it, write the results."""

from __future__ import annotations

import os
import sys
import time

from rtaudio.commands.common import LoudnessCatcher, summary

NAME = "demo"
ORDER = 90
HELP = "make a sample video, analyse it, write the events"
DESCRIPTION = ("Synthesize a short video (speech over a beat and chords), analyse it and write the results. "
               "Needs no data and no network.")
EXAMPLES = """examples:
  rtaudio demo                 # writes rtaudio-demo/demo.mp4 and rtaudio-demo/events.jsonl
  rtaudio demo -o /tmp/demo"""


def add_arguments(p) -> None:
    p.add_argument("-o", "--output-dir", default="rtaudio-demo", help="folder for the sample and the results")


def run(args) -> int:
    from rtaudio.demo import make_demo
    from rtaudio.engine import Engine
    from rtaudio.sinks.jsonl import JsonlSink
    from rtaudio.sources.av import FileSource
    from rtaudio.stages import DEFAULT_STAGES, build_stages

    out = args.output_dir
    t0 = time.perf_counter()
    video, note = make_demo(out)
    print(f"made {video} ({note}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    source = FileSource(video)
    stages = build_stages(DEFAULT_STAGES, sample_rate=source.rate, channels=source.channels)
    events_path = os.path.join(out, "events.jsonl")
    catcher = LoudnessCatcher()
    result = Engine(source, stages, [JsonlSink(events_path), catcher]).run()
    print(summary(result, source, events_path, catcher.value), file=sys.stderr)
    print(f"next: rtaudio monitor {video}   (live meters and spectrum in the terminal)", file=sys.stderr)
    return 0
