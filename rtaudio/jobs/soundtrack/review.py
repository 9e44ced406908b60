"""The review sheet: an HTML page with a picture of every join and, for the flagged ones, audio before/after.

``DIR/index.html`` lists the joins that need review first (their reasons, the
metrics, the cut-list line to edit, a picture, and two short excerpts: the
naive concatenation "before" and the render "after"), then the other joins
with their pictures.  Pictures are ``join-NN.png`` (waveform and spectrogram,
before above after, the join region shaded); excerpts ``join-NN-before.wav``
and ``join-NN-after.wav`` (16-bit, 4 s around the join).
"""

from __future__ import annotations

import html
import os

import numpy as np

from rtaudio.errors import ParameterError, require

EXCERPT_S = 2.0
PICTURE_S = 1.5


def _name(row: dict, k: int) -> str:
    return f"join-{k + 1:02d}"


def join_picture(path: str, before: np.ndarray, after: np.ndarray, rate: int, row: dict) -> None:
    """Waveform and spectrogram of ``before`` and ``after`` around a join, saved as PNG."""
    require("matplotlib", "soundtrack")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = row["output_time"]
    a = max(0, int((t - PICTURE_S) * rate))
    b = min(len(after), int((t + PICTURE_S) * rate))
    fig, axes = plt.subplots(2, 2, figsize=(9, 4.2), sharex=True, gridspec_kw={"height_ratios": [1, 1.4]})
    for col, (label, x) in enumerate((("before (naive cut)", before), ("after (render)", after))):
        seg = x[a:b].mean(axis=1) if x.ndim == 2 else x[a:b]
        times = (np.arange(a, b) / rate) - t
        ax = axes[0, col]
        ax.plot(times, seg, lw=0.5, color="#1f4e79")
        ax.set_title(label, fontsize=9)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        ax2 = axes[1, col]
        if len(seg) > 512:
            ax2.specgram(
                seg, NFFT=512, Fs=rate, noverlap=384, xextent=(times[0], times[-1]), cmap="magma", vmin=-120, vmax=-20
            )
        ax2.set_ylim(0, min(rate / 2, 12000))
        ax2.set_xlabel("s from the cut", fontsize=8)
        for axis in (ax, ax2):
            axis.axvline(0, color="#c00000", lw=0.8, ls="--")
            if col == 1:
                r0, r1 = row["region"]
                axis.axvspan(r0 - t, max(r1 - t, r0 - t + 0.002), color="#2ca02c", alpha=0.2)
            axis.tick_params(labelsize=7)
    axes[1, 0].set_ylabel("Hz", fontsize=8)
    status = "NEEDS REVIEW: " + "; ".join(row["reasons"]) if row.get("needs_review") else "ok"
    fig.suptitle(f"join at {t:.3f} s — {status}"[:150], fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _excerpt(path: str, x: np.ndarray, rate: int, t: float) -> None:
    import soundfile as sf

    a = max(0, int((t - EXCERPT_S) * rate))
    b = min(len(x), int((t + EXCERPT_S) * rate))
    sf.write(path, np.clip(x[a:b], -1, 1), rate, subtype="PCM_16")


def _metrics_text(row: dict) -> str:
    parts = []
    for key, unit in (
        ("beat_phase_error_ms", " ms"),
        ("spectral_discontinuity", "x"),
        ("loudness_step_db", " dB"),
        ("snap_dialogue_ms", " ms"),
        ("snap_music_ms", " ms"),
        ("music_slip_ms", " ms"),
        ("crossfade_ms", " ms"),
    ):
        v = row.get(key)
        if v is not None:
            parts.append(f"{key.replace('_', ' ')}: {v}{unit}")
    parts.append("click: yes" if row.get("click") else "click: no")
    return " · ".join(parts)


def write_review(folder: str | os.PathLike, report: dict, after: np.ndarray, before: np.ndarray, rate: int) -> dict:
    """Write the review sheet into ``folder`` (created); returns ``{"path": index.html, "flagged": n}``."""
    folder = os.fspath(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"review={folder!r}: cannot create the folder ({exc.strerror})", params=("review",)
        ) from None
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"review={folder!r} is not writable", params=("review",))
    rows = report["joins"]
    flagged, others = [], []
    for k, row in enumerate(rows):
        name = _name(row, k)
        join_picture(os.path.join(folder, f"{name}.png"), before, after, rate, row)
        if row["needs_review"]:
            _excerpt(os.path.join(folder, f"{name}-before.wav"), before, rate, row["output_time"])
            _excerpt(os.path.join(folder, f"{name}-after.wav"), after, rate, row["output_time"])
            flagged.append((k, row))
        else:
            others.append((k, row))
    cuts = report.get("cuts", {})
    segments = cuts.get("lines") or []

    def block(k, row, audio: bool) -> str:
        name = _name(row, k)
        title = (
            f"Join {row['index']} (into segment {row['index'] + 1})"
            if row["kind"] == "cut"
            else "Music jump (continuous music)"
        )
        where = ""
        if row["kind"] == "cut" and row["index"] < len(segments):
            where = (
                f"<p class=hint>To retouch it, edit {html.escape(segments[row['index']])}: "
                "<code>music</code> (join|crossfade|continuous|hard), <code>crossfade_ms</code>, "
                "<code>snap</code>, <code>offset_ms</code>.</p>"
            )
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in row["reasons"])
        notes = "".join(f"<li class=note>{html.escape(r)}</li>" for r in row.get("notes", []))
        sound = ""
        if audio:
            sound = (
                f"<div class=audio><span>before</span><audio controls src='{name}-before.wav'></audio>"
                f"<span>after</span><audio controls src='{name}-after.wav'></audio></div>"
            )
        return (
            f"<section><h2>{title} at {row['output_time']:.3f} s</h2><ul>{reasons}{notes}</ul>"
            f"<p class=metrics>{html.escape(_metrics_text(row))}</p>{where}{sound}"
            f"<img src='{name}.png' alt='{name}'></section>"
        )

    out = report.get("output", {})
    page = [
        "<!doctype html><meta charset=utf-8><title>rtaudio soundtrack review</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}section{border-top:1px solid #ccc;"
        "padding:.5em 0}img{max-width:100%}.metrics{color:#444;font-size:12px}.hint{font-size:12px}"
        ".audio span{margin:0 .5em}li.note{color:#666}</style>",
        f"<h1>Soundtrack review</h1><p>{html.escape(report.get('input', ''))} cut by "
        f"{html.escape(str(cuts.get('path', '')))}: {len(rows)} joins, {len(flagged)} need review. "
        f"Output {out.get('duration_s')} s, {out.get('integrated_lufs')} LUFS. "
        f"{html.escape(report.get('stems', {}).get('note', ''))}</p>",
        "<h1>Needs review</h1>" if flagged else "<p>No join needs review.</p>",
        *[block(k, row, True) for k, row in flagged],
        f"<details><summary>The other {len(others)} joins</summary>" if others else "",
        *[block(k, row, False) for k, row in others],
        "</details>" if others else "",
    ]
    index = os.path.join(folder, "index.html")
    with open(index, "w") as f:
        f.write("\n".join(page))
    return {"path": os.path.abspath(index), "flagged": len(flagged), "pictures": len(rows)}
