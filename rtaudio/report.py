"""A one-page picture of an analysis: waveform, spectrogram, loudness, rhythm, speech and key moments on one time axis.

:func:`render` draws whatever the events hold (matplotlib, headless): lanes whose
events are missing (no speech detector, no transcript, no music) say so in one
grey line instead of disappearing, so a reader knows what was looked for.

Lanes, top to bottom:

1. waveform (peak envelope), silences shaded grey, speech shaded green;
2. spectrogram (mel bands, dB) with section boundaries;
3. loudness: momentary and short-term (LUFS), loudness peaks and drops;
4. rhythm: tempo (BPM) over time, beats and downbeats as ticks, onsets as dots;
5. speech: speech segments, language labels, transcript words;
6. key moments: sections (letters) and the ranked cut suggestions (1 = best).

:class:`Collector` is the sink (and :class:`Envelope` the stage) that gathers
what :func:`render` needs while the engine runs, keeping at most a few thousand
spectrogram columns and envelope points whatever the input's length.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections import Counter
from itertools import pairwise

import numpy as np

from rtaudio.errors import ParameterError, require
from rtaudio.events import (
    Event,
    KeyMoment,
    Language,
    Levels,
    Loudness,
    SourceInfo,
    SpectrumBands,
    SpectrumFrame,
    SpeechSegment,
    Tempo,
    Transcript,
    Word,
)
from rtaudio.sinks import Sink
from rtaudio.stages.base import Frame, Stage

#: Most columns kept for the spectrogram / points for the waveform.
MAX_COLUMNS = 2400
CUTS_SHOWN = 10
#: Beats and tempi with a confidence below this (speech, noise) are left out of the picture and the headline tempo.
STEADY = 0.4
WORDS_SHOWN = 80


class Envelope(Stage):
    """Min/max of the mono mix per bin of ``bin_samples``: the waveform lane (not a registered stage)."""

    name = "envelope"
    rate = None

    def __init__(self, bin_samples: int):
        self.bin = max(1, int(bin_samples))
        self.lo: list[float] = []
        self.hi: list[float] = []
        self._cur_lo, self._cur_hi, self._fill = 0.0, 0.0, 0

    def process(self, frame: Frame) -> list[Event]:
        x = frame.mono
        pos = 0
        while pos < len(x):
            take = min(len(x) - pos, self.bin - self._fill)
            seg = x[pos : pos + take]
            if self._fill == 0:
                self._cur_lo, self._cur_hi = float(seg.min()), float(seg.max())
            else:
                self._cur_lo, self._cur_hi = min(self._cur_lo, float(seg.min())), max(self._cur_hi, float(seg.max()))
            self._fill += take
            pos += take
            if self._fill == self.bin:
                self.lo.append(self._cur_lo)
                self.hi.append(self._cur_hi)
                self._fill = 0
        return []

    def flush(self) -> list[Event]:
        if self._fill:
            self.lo.append(self._cur_lo)
            self.hi.append(self._cur_hi)
            self._fill = 0
        return []


class Collector(Sink):
    """Keeps the events :func:`render` needs; spectrum frames are max-pooled down to about ``MAX_COLUMNS``."""

    def __init__(self, duration_s: float | None, spectrum_hop_s: float):
        self.events: list[Event] = []
        self.centers: tuple[float, ...] = ()
        total = (duration_s or 3600.0) / spectrum_hop_s
        self.pool = max(1, int(math.ceil(total / MAX_COLUMNS)))
        self.columns: list[np.ndarray] = []
        self.column_t: list[int] = []
        self._acc: np.ndarray | None = None
        self._n = 0
        self.info: SourceInfo | None = None

    def open(self, info: SourceInfo) -> None:
        self.info = info

    def emit(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, SpectrumFrame):
                self._acc = e.bands_db.copy() if self._acc is None else np.maximum(self._acc, e.bands_db)
                self._n += 1
                if self._n == self.pool:
                    self.columns.append(self._acc)
                    self.column_t.append(e.t)
                    self._acc, self._n = None, 0
            elif isinstance(e, SpectrumBands):
                self.centers = e.centers_hz
            else:
                self.events.append(e)


def _fmt_time(seconds: float, _pos=None) -> str:
    seconds = max(0.0, seconds)
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}" if m < 60 else f"{int(m // 60)}:{int(m % 60):02d}:{int(s):02d}"


def summary(events: list[Event], rate: int, duration_s: float) -> dict:
    """Headline numbers of an analysis (also the HTML report's table)."""
    steady = sorted(
        (e for e in events if isinstance(e, Tempo) and e.bpm > 0 and e.confidence >= STEADY), key=lambda e: e.t
    )
    covered = sum(min(b.t - a.t, 2.5 * 60 * rate / a.bpm) for a, b in pairwise(steady)) / rate
    # a headline tempo only where steady beats cover at least half the input (speech has syllable "beats")
    tempi = [e.bpm for e in steady] if duration_s > 0 and covered >= 0.5 * duration_s else []
    speech = [e for e in events if isinstance(e, SpeechSegment)]
    speech_s = sum((e.end - e.start) / rate for e in speech)
    langs = Counter(e.language for e in events if isinstance(e, Language))
    loud = [e for e in events if isinstance(e, Loudness)]
    kinds = Counter(e.kind for e in events if isinstance(e, KeyMoment))
    return {
        "duration_s": round(duration_s, 2),
        "integrated_lufs": round(loud[-1].integrated_lufs, 1)
        if loud and math.isfinite(loud[-1].integrated_lufs)
        else None,
        "tempo_bpm": round(float(np.median(tempi)), 1) if tempi else None,
        "beats": kinds.get("beat", 0),
        "sections": kinds.get("section", 0) + (1 if duration_s > 0 else 0),
        "speech_s": round(speech_s, 1),
        "speech_share": round(speech_s / duration_s, 3) if duration_s > 0 else 0.0,
        "languages": dict(langs.most_common()),
        "words": sum(1 for e in events if isinstance(e, Word))
        + sum(len(e.words) for e in events if isinstance(e, Transcript)),
        "cut_suggestions": kinds.get("cut_suggestion", 0),
        "markers": dict(sorted(kinds.items())),
    }


def render(
    collector: Collector,
    envelope: Envelope | None,
    *,
    rate: int,
    duration_s: float,
    title: str,
    path: str | None = None,
    dpi: int = 110,
):
    """Draw the report; save a PNG to ``path`` (if given) and return the matplotlib Figure."""
    require("matplotlib", "report")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    ev = collector.events
    dur = max(duration_s, 1e-3)
    km = [e for e in ev if isinstance(e, KeyMoment)]
    by = lambda kind: [e for e in km if e.kind == kind]  # noqa: E731
    sections = sorted(by("section"), key=lambda e: e.t)
    speech = [e for e in ev if isinstance(e, SpeechSegment)]
    silences = _spans(by("silence_start"), by("silence_end"), rate, dur)
    info = summary(ev, rate, duration_s)

    fig = plt.figure(figsize=(16, 10.5), dpi=dpi)
    heights = [1.3, 1.8, 1.1, 1.1, 0.9, 0.9]
    gs = fig.add_gridspec(
        len(heights), 1, height_ratios=heights, hspace=0.12, left=0.085, right=0.985, top=0.915, bottom=0.05
    )
    axes = [fig.add_subplot(gs[0])]
    axes += [fig.add_subplot(gs[i], sharex=axes[0]) for i in range(1, len(heights))]
    wave, spec, loud, rhythm, talk, keys = axes
    head = [f"duration {_fmt_time(duration_s)}"]
    if info["integrated_lufs"] is not None:
        head.append(f"loudness {info['integrated_lufs']} LUFS")
    head.append(f"tempo {info['tempo_bpm']:.0f} BPM" if info["tempo_bpm"] else "no steady beat")
    if speech:
        head.append(f"speech {100 * info['speech_share']:.0f} %")
    else:
        head.append("no speech found" if _has_speech_stage(ev) else "speech not analysed")
    if info["languages"]:
        head.append("language " + ", ".join(info["languages"]))
    head.append(f"{info['cut_suggestions']} cut suggestions")
    fig.suptitle(title, x=0.085, ha="left", fontsize=15, fontweight="bold", y=0.985)
    fig.text(0.085, 0.94, "   ·   ".join(head), fontsize=11, color="#333333")

    # 1. waveform
    if envelope is not None and envelope.hi:
        n = len(envelope.hi)
        t = (np.arange(n) + 0.5) * envelope.bin / rate
        wave.fill_between(t, envelope.lo, envelope.hi, color="#3a6ea5", linewidth=0)
        peak = max(1e-6, max(max(envelope.hi), -min(envelope.lo)))
        wave.set_ylim(-1.05 * peak, 1.05 * peak)
    for a, b in silences:
        wave.axvspan(a, b, color="#bbbbbb", alpha=0.5, linewidth=0)
    for s in speech:
        wave.axvspan(s.start / rate, s.end / rate, color="#2ca02c", alpha=0.18, linewidth=0)
    _lane(wave, "waveform")
    wave.set_yticks([])
    handles = [plt.Rectangle((0, 0), 1, 1, color="#2ca02c", alpha=0.3), plt.Rectangle((0, 0), 1, 1, color="#bbbbbb")]
    wave.legend(handles, ["speech", "silence"], loc="upper right", fontsize=8, ncol=2, framealpha=0.8)

    # 2. spectrogram
    if collector.columns:
        img = np.array(collector.columns).T
        t1 = collector.column_t[-1] / rate
        hop = (collector.column_t[1] - collector.column_t[0]) / rate if len(collector.column_t) > 1 else t1
        lo = max(float(np.percentile(img, 5)), float(img.max()) - 80.0)
        spec.imshow(
            img,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=lo,
            vmax=float(img.max()),
            extent=(collector.column_t[0] / rate - hop, t1, 0, img.shape[0]),
            interpolation="nearest",
        )
        centers = np.asarray(collector.centers)
        if len(centers) == img.shape[0]:
            ticks = [i for i, f in enumerate(centers) if i % max(1, len(centers) // 5) == 0]
            spec.set_yticks([i + 0.5 for i in ticks])
            spec.set_yticklabels(
                [f"{centers[i] / 1000:.1f}k" if centers[i] >= 1000 else f"{centers[i]:.0f}" for i in ticks], fontsize=8
            )
    else:
        _empty(spec, "no spectrum")
    for s in sections:
        for ax in (wave, spec, loud, rhythm, talk):
            ax.axvline(s.t / rate, color="#9467bd", linewidth=1.2, alpha=0.8)
    _lane(spec, "spectrum\n(Hz)")

    # 3. loudness
    lv = [e for e in ev if isinstance(e, Levels)]
    if lv:
        t = np.array([e.t for e in lv]) / rate
        mom = np.array([e.momentary_lufs for e in lv], dtype=float)
        st = np.array([e.short_term_lufs for e in lv], dtype=float)
        mom[~np.isfinite(mom)] = np.nan
        st[~np.isfinite(st)] = np.nan
        loud.plot(t, mom, color="#1f77b4", linewidth=0.8, label="momentary")
        loud.plot(t, st, color="#ff7f0e", linewidth=1.6, label="short-term")
        finite = np.concatenate([mom[np.isfinite(mom)], st[np.isfinite(st)]])
        if finite.size:
            loud.set_ylim(max(float(finite.min()) - 3, -70.0), min(float(finite.max()) + 4, 5.0))
        for e in by("loudness_peak"):
            loud.plot(e.t / rate, _at(t, mom, e.t / rate), marker="^", color="#d62728", markersize=8, linestyle="none")
        for e in by("loudness_drop"):
            loud.plot(e.t / rate, _at(t, mom, e.t / rate), marker="v", color="#8c564b", markersize=8, linestyle="none")
        loud.legend(loc="lower right", fontsize=8, ncol=2, framealpha=0.8)
    else:
        _empty(loud, "no loudness (levels stage not run)")
    _lane(loud, "loudness\n(LUFS)")

    # 4. rhythm
    beats, downs, onsets = by("beat"), by("downbeat"), by("onset")
    tempo = sorted((e for e in ev if isinstance(e, Tempo) and e.confidence >= STEADY), key=lambda e: e.t)
    beats = [e for e in beats if e.score >= STEADY]
    downs = [e for e in downs if any(abs(b.t - e.t) < 2 for b in beats)]
    if tempo:
        tx, ty = [], []
        for a, b in zip(tempo, tempo[1:] + [None], strict=True):
            tx.append(a.t / rate)
            ty.append(a.bpm)
            if b is not None and (b.t - a.t) / rate > 2.5 * 60 / a.bpm:  # no line across a gap in the beats
                tx.append(np.nan)
                ty.append(np.nan)
        rhythm.plot(tx, ty, color="#2ca02c", linewidth=1.4, marker=".", markersize=3)
        bpm = np.array([e.bpm for e in tempo])
        lo, hi = float(bpm.min()), float(bpm.max())
        pad = max(5.0, 0.1 * (hi - lo))
        rhythm.set_ylim(lo - pad, hi + 2.2 * pad)
        top = hi + 2.2 * pad
        rhythm.vlines([e.t / rate for e in beats], top - 0.55 * pad, top, color="#444444", linewidth=0.6)
        rhythm.vlines([e.t / rate for e in downs], top - 1.3 * pad, top, color="#000000", linewidth=1.4)
        if onsets:
            rhythm.plot(
                [e.t / rate for e in onsets],
                [lo - 0.5 * pad] * len(onsets),
                "|",
                color="#7f7f7f",
                markersize=5,
                alpha=0.7,
            )
        rhythm.text(
            1.0,
            1.0,
            f"ticks: beats (confidence >= {STEADY}; tall = downbeat)   | onsets",
            transform=rhythm.transAxes,
            ha="right",
            va="bottom",
            fontsize=7,
            color="#555555",
        )
    elif onsets:
        rhythm.plot([e.t / rate for e in onsets], [0.5] * len(onsets), "|", color="#7f7f7f", markersize=8)
        rhythm.set_yticks([])
        _empty(rhythm, "no steady beat found (onsets shown)")
    else:
        _empty(rhythm, "no beats or onsets")
    _lane(rhythm, "tempo\n(BPM)")

    # 5. speech, language, words
    words = [e for e in ev if isinstance(e, Word)]
    for tr in (e for e in ev if isinstance(e, Transcript)):
        words.extend(tr.words)
    talk.set_ylim(0, 1)
    talk.set_yticks([])
    if speech:
        for s in speech:
            talk.axvspan(s.start / rate, s.end / rate, ymin=0.05, ymax=0.35, color="#2ca02c", alpha=0.6, linewidth=0)
    for lang in (e for e in ev if isinstance(e, Language)):
        talk.text(
            lang.t / rate,
            0.2,
            f" {lang.language} {lang.probability:.0%}",
            fontsize=8,
            color="#1b5e20",
            va="center",
            fontweight="bold",
        )
    if words:
        words = sorted(words, key=lambda w: w.start)
        step = max(1, len(words) // WORDS_SHOWN)
        for i, w in enumerate(words[::step]):
            talk.text(
                w.start / rate, 0.55 + 0.25 * (i % 2), w.word, fontsize=7, color="#222222", va="center", clip_on=True
            )
    if not speech and not words:
        _empty(talk, "no speech found" if _has_speech_stage(ev) else "speech not analysed (no speech detector)")
    _lane(talk, "speech")

    # 6. key moments: sections and ranked cuts
    keys.set_ylim(0, 1)
    keys.set_yticks([])
    edges = [0.0] + [s.t / rate for s in sections] + [dur]
    labels = ["A"] + [s.label or "?" for s in sections]
    palette = ["#c6dbef", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9"]
    letters = sorted(set(labels))
    for a, b, name in zip(edges[:-1], edges[1:], labels, strict=True):
        keys.axvspan(a, b, ymin=0.0, ymax=0.38, color=palette[letters.index(name) % len(palette)], linewidth=0)
        keys.text((a + b) / 2, 0.19, name, ha="center", va="center", fontsize=10, fontweight="bold", color="#333333")
    cuts = sorted(by("cut_suggestion"), key=lambda e: (-e.score, e.t))[:CUTS_SHOWN]
    for rank, c in enumerate(cuts, 1):
        x = c.t / rate
        keys.plot(x, 0.62, marker="v", color="#d62728", markersize=11)
        keys.text(x, 0.86, str(rank), ha="center", va="center", fontsize=9, fontweight="bold", color="#d62728")
        for ax in (wave,):
            ax.axvline(x, color="#d62728", linewidth=0.9, linestyle="--", alpha=0.7)
    if not cuts:
        keys.text(0.99, 0.65, "no cut suggestions", transform=keys.transAxes, ha="right", fontsize=9, color="#777777")
    _lane(keys, "sections\n& cuts")

    for ax in axes[:-1]:
        plt.setp(ax.get_xticklabels(), visible=False)
    keys.xaxis.set_major_formatter(FuncFormatter(_fmt_time))
    keys.set_xlabel("time (m:ss)")
    keys.set_xlim(0, dur)
    for ax in axes:
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    if path:
        fig.savefig(path, dpi=dpi)
    return fig


def _has_speech_stage(events: list[Event]) -> bool:
    return any(isinstance(e, KeyMoment) and e.kind in ("speech_start", "speech_end") for e in events) or any(
        getattr(e, "TYPE", "") in ("speech_start", "speech_end", "speech") for e in events
    )


def _spans(starts, ends, rate, dur):
    out = []
    ends = sorted(e.t for e in ends)
    for s in sorted(e.t for e in starts):
        nxt = [e for e in ends if e >= s]
        out.append((s / rate, (nxt[0] / rate) if nxt else dur))
    return out


def _at(t, y, x):
    i = int(np.clip(np.searchsorted(t, x), 0, len(t) - 1))
    v = y[i]
    return v if np.isfinite(v) else np.nanmax(y)


def _lane(ax, name: str) -> None:
    ax.set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center", labelpad=8)
    ax.tick_params(axis="y", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#888888")


def write_html(path: str, png: bytes, info: dict, cuts: list[KeyMoment], rate: int, title: str) -> None:
    """A self-contained HTML page: the picture, the headline numbers, and the ranked cut suggestions."""
    rows = "".join(
        f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in info.items()
    )
    cut_rows = "".join(
        f"<tr><td>{i}</td><td>{_fmt_time(c.t / rate)}</td><td>{c.t / rate:.3f}</td><td>{c.score:.2f}</td>"
        f"<td>{html.escape(c.label)}</td></tr>"
        for i, c in enumerate(sorted(cuts, key=lambda e: (-e.score, e.t)), 1)
    )
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em;color:#222}} img{{max-width:100%}}
table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<img alt="analysis report" src="data:image/png;base64,{base64.b64encode(png).decode()}">
<h2>Summary</h2><table>{rows}</table>
<h2>Cut suggestions (best first)</h2>
<table><tr><th>rank</th><th>time</th><th>seconds</th><th>score</th><th>why</th></tr>{cut_rows}</table>
</body></html>
"""
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)


def save(
    path: str, collector: Collector, envelope: Envelope | None, *, rate: int, duration_s: float, title: str
) -> None:
    """Render and write ``path`` (.png or .html); raises ParameterError for another extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".html", ".htm"):
        raise ParameterError(f"output {path!r} has extension {ext or '(none)'!r}; expected .png or .html")
    fig = render(collector, envelope, rate=rate, duration_s=duration_s, title=title)
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    plt.close(fig)
    png = buf.getvalue()
    if ext == ".png":
        with open(path, "wb") as f:
            f.write(png)
        return
    cuts = [e for e in collector.events if isinstance(e, KeyMoment) and e.kind == "cut_suggestion"]
    write_html(path, png, summary(collector.events, rate, duration_s), cuts, rate, title)
