"""The soundtrack job's entry point: a source (audio or video) and a cut list in, a seamless soundtrack
and a report out.

:func:`render_soundtrack` runs the job's one graph (:mod:`.graph`) in this process on the inline
executor; its steps are in :mod:`.steps`, the pool and Ray run the same graph (:mod:`rtaudio.jobs.batch`).
"""

from __future__ import annotations

from rtaudio.jobs.soundtrack.params import SoundtrackParams
from rtaudio.jobs.soundtrack.steps import Progress


def render_soundtrack(
    input,
    cuts,
    output=None,
    *,
    mux=None,
    mux_output=None,
    report=None,
    review=None,
    rate: int | None = None,
    stream: int = 0,
    fps=None,
    source_start=None,
    params: SoundtrackParams | None = None,
    separation: str = "auto",
    cache: bool = True,
    cache_dir=None,
    progress: Progress | None = None,
    cuts_name: str | None = None,
    **settings,
) -> dict:
    """Render a soundtrack that follows a cut list; return the report.

    Parameters
    ----------
    input : path
        The source: any audio or video file FFmpeg reads.
    cuts : path or CutList
        Kept segments (CSV, JSON, CMX 3600 EDL, FCP 7 XML, OTIO), see
        :mod:`rtaudio.jobs.soundtrack.cutlist`.
    output : path or None
        Soundtrack file: ``.wav``, ``.flac`` (24-bit), ``.m4a``/``.aac`` (AAC).
    mux : path or None
        An edited video to put the soundtrack into (its video copied, not re-encoded).
    mux_output : path or None
        Where the muxed video goes (required with ``mux``).
    report : path or None
        Where the report JSON goes.
    review : path or None
        Folder for the review sheet (``index.html``, a picture per join, audio excerpts
        of the flagged joins).
    rate : int or None, Hz
        Output rate; default the input's.
    stream : int
        Audio stream of the input (0 = first).
    fps : str, float or None
        Frame rate for timecodes in the cut list (``"29.97df"``); default the input
        video's rate.
    source_start : str, float or None
        Source time of the input's first sample (seconds or a timecode such as
        ``01:00:00:00``); default the input's own timecode tag, else 0.
    params : SoundtrackParams or None
        Render settings; ``**settings`` override single fields (``music="continuous"``).
    separation : str
        Backend of the separation job (``auto``, ``dsp``, ...), or ``none`` for one stem.
    cache : bool
        Reuse/stored decoded audio, stems and analysis (see :mod:`.cache`).
    cache_dir : path or None
        Cache root; default ``$RTAUDIO_CACHE/soundtrack``.
    progress : callable(step, fraction) or None
        Called as the steps advance (see :data:`STEPS`).
    cuts_name : str or None
        What messages call the cut list (a batch job's inline cuts); default its file name.

    Returns
    -------
    dict
        The report: ``joins``, ``baselines``, ``output`` and more (see docs/soundtrack.md).
    """
    from rtaudio.jobs.executors import InlineExecutor
    from rtaudio.jobs.soundtrack.graph import render_soundtrack_graph

    with InlineExecutor() as executor:  # the job's one graph (soundtrack.graph.build_tasks), run in this process
        return render_soundtrack_graph(
            input,
            cuts,
            output,
            executor=executor,
            retries=0,
            progress=progress,
            mux=mux,
            mux_output=mux_output,
            report=report,
            review=review,
            rate=rate,
            stream=stream,
            fps=fps,
            source_start=source_start,
            params=params,
            separation=separation,
            cache=cache,
            cache_dir=cache_dir,
            cuts_name=cuts_name,
            **settings,
        )
