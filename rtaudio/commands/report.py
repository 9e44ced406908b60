"""rtaudio report: one picture (PNG) or page (HTML) of an input's sound, speech, rhythm and key moments."""

from __future__ import annotations

import os
import sys

from rtaudio.commands.common import add_input, open_input, run_with_progress
from rtaudio.commands.markers import add_key_options, key_stages

NAME = "report"
ORDER = 46
HELP = "draw a one-page report: waveform, spectrogram, loudness, speech, beats, key moments"
DESCRIPTION = """Analyse an input and draw what it holds on one time axis: waveform, spectrogram,
loudness curve, tempo with beats and downbeats, speech segments with language and transcript words
(when those stages run: --with stt,lid), sections and the ranked cut suggestions.

.png writes the picture; .html a self-contained page with the picture, the headline numbers
and the table of cut suggestions."""
EXAMPLES = """examples:
  rtaudio report song.flac -o report.png
  rtaudio report talk.mp4 -o report.html
  rtaudio report talk.mp4 -o report.png --with stt,lid --title "Episode 12\""""


def add_arguments(p) -> None:
    add_input(p)
    add_key_options(p)
    p.add_argument("-o", "--output", required=True, help="report file: .png or .html")
    p.add_argument("--title", default=None, help="title (default: the input's file name)")


def run(args) -> int:
    from rtaudio.commands.common import check_outputs, summary
    from rtaudio.engine import Engine
    from rtaudio.errors import ParameterError, require
    from rtaudio.report import Collector, Envelope, save

    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".png", ".html", ".htm"):
        raise ParameterError(f"output {args.output!r} has extension {ext or '(none)'!r}; expected .png or .html")
    check_outputs(args, **{"-o": args.output})
    require("matplotlib", "report")
    source = open_input(args)
    stages, notes = key_stages(args, source, extra_first=("spectrum",))
    duration = source.duration_s
    bin_samples = int(source.rate * duration / 4000) if duration else source.rate // 100
    envelope = Envelope(bin_samples)
    spectrum = stages[0]
    collector = Collector(duration, spectrum.params.hop / source.rate)
    engine = Engine(source, stages + [envelope], [collector], on_nonfinite=args.nonfinite)
    result = run_with_progress(engine, source, show=not args.no_progress)
    title = args.title or os.path.basename(args.input or "input")
    from rtaudio.outputs import atomic

    with atomic(args.output) as tmp:
        save(tmp, collector, envelope, rate=source.rate, duration_s=result.samples / source.rate, title=title)
    for note in notes:
        print(f"rtaudio: note: {note}", file=sys.stderr)
    print(summary(result, source, None, None) + f"; report in {args.output}", file=sys.stderr)
    return 0
