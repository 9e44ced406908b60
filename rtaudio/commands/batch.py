"""rtaudio batch: many soundtrack jobs from a JSONL file, on a local process pool or Ray."""

from __future__ import annotations

import json
import sys

NAME = "batch"
ORDER = 41
HELP = "run many soundtrack jobs in parallel (local process pool or Ray), resumable"
DESCRIPTION = """\
Run the soundtrack jobs of JOBS.jsonl in parallel, one JSON object a line:
  {"input": "talk.mp4", "cuts": "talk.csv", "output": "talk.wav"}
plus optional soundtrack settings ("music": "continuous", "loudness_lufs": -14, "separation": "dsp",
"report": "talk.json", "mux": "edited.mp4", "mux_output": "final.mp4", ...). "cuts" is a cut-list file or
a list of [start, end] segments. Relative paths are taken from the JSONL file's folder.

Each job is one task on --engine local (a process pool, the default) or --engine ray (a local Ray cluster,
or --address of a running one; pip install 'rtaudio[ray]'). A failing job fails alone (its error is in
the summary); transient faults (a lost worker, an I/O error) are retried. Finished outputs are skipped on
the next run: outputs are written under a temporary name and renamed when complete, so an interrupted
batch resumes where it stopped. Exit status 1 when a job failed.

--split-jobs: for a few long inputs, each job becomes a graph of tasks (decode, separation in overlapping
chunks, analysis, groups of joins, mix, measure, write), and all the jobs' graphs run as one graph over the
workers, so one job's tasks fill the workers while another's wait; same outputs. The progress bar then
also shows the last finished task's job and step."""
EXAMPLES = """examples:
  rtaudio batch jobs.jsonl
  rtaudio batch jobs.jsonl --workers 4 --summary summary.json
  rtaudio batch jobs.jsonl --engine ray                       # a local Ray cluster
  rtaudio batch jobs.jsonl --engine ray --address auto        # the running cluster (ray start --head)
  rtaudio batch long.jsonl --split-jobs --workers 16          # each job spread over 16 workers"""


def add_arguments(p) -> None:
    p.add_argument("jobs", metavar="JOBS.jsonl", help='one job a line: {"input": .., "cuts": .., "output": ..}')
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: a process pool on this machine (default); ray: Ray tasks",
    )
    p.add_argument(
        "--address", metavar="ADDR", help="Ray cluster to join (ray://head:10001, auto); default a local one"
    )
    p.add_argument("--workers", type=int, metavar="N", help="jobs at once (default: every CPU)")
    p.add_argument("--retries", type=int, default=2, metavar="N", help="retries after a transient fault (default 2)")
    p.add_argument("--force", action="store_true", help="redo jobs whose outputs exist")
    p.add_argument(
        "--split-jobs",
        action="store_true",
        help="run each job as a task graph, all jobs' graphs as one over the workers (few long inputs)",
    )
    p.add_argument("--summary", metavar="FILE.json", help="write the batch summary as JSON")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from rtaudio.jobs.batch import check_jobs, read_jobs, run_batch
    from rtaudio.outputs import check_writable, write_text

    jobs = read_jobs(args.jobs)
    check_jobs(jobs, args.jobs, {"--summary": args.summary})
    if args.summary:
        check_writable(args.summary, "--summary")
    kw = {
        "engine": args.engine,
        "workers": args.workers,
        "address": args.address,
        "retries": args.retries,
        "force": args.force,
        "split": args.split_jobs,
    }
    if args.no_progress:
        result = run_batch(jobs, **kw)
    else:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("", total=len(jobs))

            def progress(done, total, row):
                bar.update(task, completed=done, description=f"{row['status']}: {row['name']}")

            def task_progress(label, fraction):  # --split-jobs: the last finished task, share of all tasks
                bar.update(task, description=f"running: {label} (tasks {fraction:.0%})")

            result = run_batch(jobs, progress=progress, task_progress=task_progress if args.split_jobs else None, **kw)
    if args.summary:
        write_text(args.summary, json.dumps(result, indent=1), "--summary")
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        c = result["counts"]
        print(
            f"{len(result['jobs'])} jobs on {result['engine']} ({result['workers']} workers) in "
            f"{result['wall_s']:.1f} s: {c['done']} done, {c['skipped']} skipped (finished before), "
            f"{c['failed']} failed"
        )
        for row in result["jobs"]:
            if row["status"] == "failed":
                print(
                    f"  failed: {row['name']} ({row['input']}): {row['error_type']}: {row['error']} "
                    f"[{row['attempts']} attempt(s)]"
                )
    return 1 if result["counts"]["failed"] else 0
