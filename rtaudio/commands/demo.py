"""rtaudio demo: synthesize a short video, then run the main verbs on it, as a user would."""

from __future__ import annotations

import os
import sys
import time

NAME = "demo"
ORDER = 90
HELP = "make a sample video and run every analysis on it"
DESCRIPTION = (
    "Synthesize a short video (espeak-ng speech over a beat and chords), then run rtaudio's verbs on it: "
    "events, speech intervals, subtitles, language, markers, a report picture, stems, a soundtrack for an edit, "
    "and a window screenshot. Needs no data and "
    "no network; each step prints the command it ran, so you can run it again yourself."
)
EXAMPLES = """examples:
  rtaudio demo                 # writes everything into rtaudio-demo/
  rtaudio demo -o /tmp/demo"""


def steps(video: str, out: str) -> list[tuple[str, list[str]]]:
    """(what, CLI arguments) of each demo step, in order."""
    j = lambda name: os.path.join(out, name)  # noqa: E731
    return [
        (
            "events (spectrum, loudness, speech, captions, language)",
            ["analyze", video, "-o", j("events.jsonl"), "--stages", "spectrum,levels,vad,stt,lid", "--no-progress"],
        ),
        ("speech intervals", ["speech", video, "-o", j("speech.csv")]),
        ("subtitles", ["transcribe", video, "-o", j("demo.srt")]),
        ("spoken language (Whisper where installed, else the light phonotactic model)", ["langid", video]),
        ("markers for editors", ["markers", video, "-o", j("markers.otio")]),
        ("report picture", ["report", video, "-o", j("report.png")]),
        ("stems", ["separate", video, "-o", j("stems")]),
        (
            "cut-point soundtrack (cuts.csv: three kept segments)",
            ["soundtrack", video, "--cuts", j("cuts.csv"), "-o", j("soundtrack.wav"), "--report", j("soundtrack.json")],
        ),
        (
            "a batch of two edits on a local process pool (run it again: both are skipped as finished)",
            ["batch", j("jobs.jsonl"), "--no-progress"],
        ),
        (
            "window screenshot (with speech, language and captions)",
            [
                "play",
                video,
                "--no-audio",
                "--stages",
                "spectrum,levels,vad,lid,stt",
                "--screenshot",
                j("window.png"),
                "--duration",
                "11.5",
            ],
        ),
    ]


def add_arguments(p) -> None:
    p.add_argument("-o", "--output-dir", default="rtaudio-demo", help="folder for the sample and the results")


def run(args) -> int:
    from rtaudio.cli import main
    from rtaudio.demo import make_demo

    out = args.output_dir
    t0 = time.perf_counter()
    video, note = make_demo(out)
    with open(os.path.join(out, "cuts.csv"), "w") as f:  # an edit that keeps three pieces, cut off the beat
        f.write("start,end\n0.0,3.1\n4.4,7.9\n9.2,11.0\n")
    with open(os.path.join(out, "jobs.jsonl"), "w") as f:  # paths relative to the jobs file
        f.write('{"input": "demo.mp4", "cuts": "cuts.csv", "output": "batch/edit-a.wav"}\n')
        f.write('{"input": "demo.mp4", "cuts": [[1.0, 4.0], [5.5, 10.5]], "output": "batch/edit-b.wav"}\n')
    print(f"made {video} ({note}) in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    failed = []
    for what, argv in steps(video, out):
        print(f"\n== {what}: rtaudio {' '.join(argv)}", file=sys.stderr, flush=True)
        if main(argv) != 0:
            failed.append(what)
    print(f"\nresults in {out}/: " + ", ".join(sorted(os.listdir(out))), file=sys.stderr)
    if failed:
        print(f"rtaudio: error: demo steps failed: {', '.join(failed)}", file=sys.stderr)
        return 2
    print(f"next: rtaudio play {video}   (a window with spectrum, meters, speech and captions)", file=sys.stderr)
    return 0
