"""Drawing the display model onto a pygame surface.

:class:`Renderer` owns the layout (recomputed when the window is resized or the
mode changes), a static layer (panels, grid, labels) drawn once per layout, a
ring-buffer surface for the waterfall (new columns are written in place, never
scrolled), and a cache of rendered text.  A frame is: blit the static layer,
draw the bars and peak markers, blit the waterfall in two pieces, draw the time
strip, meters, lamps and captions.

Screen regions (``mode="both"``)::

    +-------------------------------------------------------------+---------+
    | header: source, time, mode / scale / freeze, fps, dropped     |         |
    +-------------------------------------------------------------+ meters  |
    | spectrum bars (log frequency) with peak markers              | PK RMS  |
    +-------------------------------------------------------------+ M  S    |
    | waterfall (time ->, frequency up)                            +---------+
    +-------------------------------------------------------------+ speech  |
    | time strip: speech spans, key moments, beats                 | language|
    +-------------------------------------------------------------+ tempo   |
    | captions: final lines, then the partial one                             |
    +-----------------------------------------------------------------------+
    | keys                                                                  |

The geometry of every region is public (``bars_plot``, ``waterfall_plot``,
``strip``, ``captions``, ``lamp_center``, :meth:`band_rect`) so tests can look
at the pixels that matter.
"""

from __future__ import annotations

import math
import os

import numpy as np

from rtaudio.errors import ParameterError
from rtaudio.viz.colormap import lut
from rtaudio.viz.model import DisplayModel

MODES = ("both", "bars", "waterfall")

BG = (13, 13, 19)
PANEL = (21, 21, 31)
GRID = (38, 38, 54)
FRAME = (52, 52, 72)
TEXT = (225, 225, 235)
DIM = (125, 125, 148)
FAINT = (80, 80, 100)
PEAK = (215, 215, 230)
LAMP_ON = (70, 230, 130)
LAMP_OFF = (44, 58, 52)
RED = (235, 80, 72)
YELLOW = (235, 200, 70)
GREEN = (80, 200, 120)
#: colours of key-moment ticks by kind
MOMENT_COLORS = {
    "beat": (150, 150, 170),
    "downbeat": (240, 240, 250),
    "onset": (90, 200, 230),
    "section": (250, 160, 60),
    "loudness_peak": (235, 80, 72),
    "speech_start": LAMP_ON,
    "speech_end": (50, 150, 95),
    "cut_suggestion": (230, 90, 220),
}
OTHER_MOMENT = (235, 200, 70)

FREQ_LABELS = (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)

_FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/segoeui.ttf",
)


def _font_path() -> str | None:
    """A clear sans-serif font file if one is installed (DejaVu Sans on Debian); None: pygame's own."""
    for path in _FONT_PATHS:
        if os.path.exists(path):
            return path
    return None


def _fmt_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    m, s = divmod(seconds, 60.0)
    return f"{int(m):02d}:{s:04.1f}"


def _fmt_freq(f: float) -> str:
    if f >= 1000:
        return f"{f / 1000:g}k"
    return f"{f:g}"


def _fmt_db(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "-inf"


class Text:
    """Rendered text surfaces, cached by (text, size, colour)."""

    def __init__(self, pygame):
        self.pg = pygame
        self.path = _font_path()
        self._fonts: dict[int, object] = {}
        self._cache: dict[tuple, object] = {}

    def font(self, size: int):
        f = self._fonts.get(size)
        if f is None:
            f = self._fonts[size] = self.pg.font.Font(self.path, size)
        return f

    def render(self, text: str, size: int, color=TEXT):
        key = (text, size, color)
        s = self._cache.get(key)
        if s is None:
            if len(self._cache) > 2000:
                self._cache.clear()
            s = self._cache[key] = self.font(size).render(text, True, color)
        return s

    def width(self, text: str, size: int) -> int:
        return self.font(size).size(text)[0]


class Renderer:
    """Draws a :class:`DisplayModel` onto a surface of a given size.

    Parameters
    ----------
    model : DisplayModel
    size : (int, int), pixels
    mode : {"both", "bars", "waterfall"}
    """

    SIDE_W = 230  # side panel width, pixels (shrinks in small windows)

    def __init__(self, model: DisplayModel, size: tuple[int, int], mode: str = "both"):
        import pygame

        if mode not in MODES:
            raise ParameterError(f"mode={mode!r} must be one of {', '.join(MODES)}")
        self.pg = pygame
        if not pygame.font.get_init():
            pygame.font.init()
        self.model = model
        self.mode = mode
        self.text = Text(pygame)
        self.colors = lut(model.view.colormap, 256)
        self.size = (0, 0)
        self._layout_key = None
        self._wf_ring = None
        self.hud: dict = {}
        self.resize(size)

    # -- layout -------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ParameterError(f"mode={mode!r} must be one of {', '.join(MODES)}")
        if mode != self.mode:
            self.mode = mode
            self.resize(self.size, force=True)

    def resize(self, size: tuple[int, int], force: bool = False) -> None:
        """Lay the regions out for a window of ``size`` pixels."""
        pg = self.pg
        w, h = max(int(size[0]), 160), max(int(size[1]), 120)
        if (w, h) == self.size and not force:
            return
        self.size = (w, h)
        self.fs = max(10, min(15, h // 48))  # small text size
        fs = self.fs
        head_h = fs + 14
        foot_h = fs + 8
        cap_h = max(2 * (int(fs * 1.6) + 6) + 10, h // 9)
        side_w = min(self.SIDE_W, max(120, w // 5))
        pad = 6
        self.header = pg.Rect(0, 0, w, head_h)
        self.footer = pg.Rect(0, h - foot_h, w, foot_h)
        self.captions = pg.Rect(pad, self.footer.top - cap_h, w - 2 * pad, cap_h - pad)
        body = pg.Rect(pad, head_h + pad, w - side_w - 3 * pad, max(40, self.captions.top - head_h - 2 * pad))
        self.side = pg.Rect(body.right + pad, body.top, side_w, body.height)
        strip_h = max(22, min(46, body.height // 8))
        self.strip_panel = pg.Rect(body.left, body.bottom - strip_h, body.width, strip_h)
        main = pg.Rect(body.left, body.top, body.width, body.height - strip_h - pad)
        label_w = 8 + self.text.width("-90", fs)
        axis_h = fs + 6
        if self.mode == "both":
            bars_h = int(main.height * 0.46)
            self.bars_panel = pg.Rect(main.left, main.top, main.width, bars_h)
            self.wf_panel = pg.Rect(main.left, main.top + bars_h + pad, main.width, main.height - bars_h - pad)
        elif self.mode == "bars":
            self.bars_panel = main.copy()
            self.wf_panel = None
        else:
            self.bars_panel = None
            self.wf_panel = main.copy()
        self.bars_plot = None
        if self.bars_panel is not None:
            p = self.bars_panel
            self.bars_plot = pg.Rect(
                p.left + label_w, p.top + 6, max(8, p.width - label_w - 6), max(8, p.height - axis_h - 8)
            )
        self.waterfall_plot = None
        if self.wf_panel is not None:
            p = self.wf_panel
            self.waterfall_plot = pg.Rect(
                p.left + label_w,
                p.top + 4,
                max(8, p.width - label_w - 6),
                max(8, p.height - 8 - (axis_h if self.bars_panel is None else 0)),
            )
        plot = self.waterfall_plot or self.bars_plot
        self.strip = pg.Rect(plot.left, self.strip_panel.top + 3, plot.width, self.strip_panel.height - 6)
        # side panel: meters on top, then speech lamp, language, tempo
        s = self.side
        info_h = min(s.height // 2, 4 * (fs + 8) + 3 * (int(fs * 1.5) + 8))
        self.meters_panel = pg.Rect(s.left, s.top, s.width, s.height - info_h - pad)
        self.info_panel = pg.Rect(s.left, self.meters_panel.bottom + pad, s.width, info_h)
        r = max(5, min(11, fs - 2))
        self.lamp_radius = r
        self.lamp_center = (self.info_panel.left + 12 + r, self.info_panel.top + 10 + r)
        self._layout_bands()
        self._make_static()
        self._make_waterfall_ring()

    def _layout_bands(self) -> None:
        """Per-band bar columns and per-row waterfall interpolation for the current bands and size."""
        n = self.model.n_bands
        self._bands_n = n
        self._scale = self.model.scale
        self._bar_x = np.zeros((0, 2), int)
        if self.bars_plot is not None and n:
            p = self.bars_plot
            pitch = p.width / n
            gap = 2 if pitch >= 7 else (1 if pitch >= 3 else 0)
            x0 = p.left + np.round(np.arange(n) * pitch).astype(int)
            x1 = p.left + np.round(np.arange(1, n + 1) * pitch).astype(int) - gap
            self._bar_x = np.stack([x0, np.maximum(x0 + 1, x1)], axis=1)
        self._rows = None
        if self.waterfall_plot is not None and n:
            hgt = self.waterfall_plot.height
            pos = (hgt - 1 - np.arange(hgt)) / max(1, hgt - 1) * (n - 1)  # row 0 (top) = highest band
            i0 = np.clip(np.floor(pos).astype(int), 0, max(0, n - 2))
            frac = np.clip(pos - i0, 0.0, 1.0) if n > 1 else np.zeros(hgt)
            i1 = np.minimum(i0 + 1, n - 1)
            self._rows = (i0, i1, frac)

    def band_rect(self, k: int):
        """The column of band ``k``'s bar over the whole height of the bars plot (a pygame Rect)."""
        if self.bars_plot is None:
            raise ParameterError(f"mode={self.mode!r} draws no bars")
        x0, x1 = self._bar_x[k]
        return self.pg.Rect(int(x0), self.bars_plot.top, int(x1 - x0), self.bars_plot.height)

    def _freq_axis(self, f: float) -> float | None:
        """Fractional band index of frequency ``f`` (None outside the bands)."""
        c = self.model.centers_hz
        if len(c) < 2 or not c[0] <= f <= c[-1]:
            return None
        return float(np.interp(f, c, np.arange(len(c))))

    def _y_of_db(self, db, plot) -> np.ndarray:
        v = self.model.view
        frac = np.clip((np.asarray(db, np.float64) - v.floor_db) / (v.top_db - v.floor_db), 0.0, 1.0)
        return plot.bottom - np.round(frac * plot.height).astype(int)

    def _make_static(self) -> None:
        pg, fs, v = self.pg, self.fs, self.model.view
        surf = pg.Surface(self.size)
        surf.fill(BG)
        pg.draw.rect(surf, PANEL, self.header)
        pg.draw.line(surf, FRAME, (0, self.header.bottom - 1), (self.size[0], self.header.bottom - 1))
        pg.draw.rect(surf, PANEL, self.footer)
        for panel in (
            self.bars_panel,
            self.wf_panel,
            self.strip_panel,
            self.meters_panel,
            self.info_panel,
            self.captions,
        ):
            if panel is not None:
                pg.draw.rect(surf, PANEL, panel, border_radius=6)
        keys = "1 bars   2 waterfall   3 both   M mel/octave   Space freeze   Q quit"
        surf.blit(self.text.render(keys, fs - 1, FAINT), (10, self.footer.top + 3))
        # bars: dB grid and labels, frequency labels
        if self.bars_plot is not None:
            p = self.bars_plot
            line_h = self.text.font(fs - 1).get_height()
            span = v.top_db - v.floor_db
            step = next((s for s in (10, 20, 30, 40, 50) if p.height * s / span >= line_h + 2), 60)
            for db in range(int(v.top_db), int(v.floor_db) - 1, -step):
                y = int(self._y_of_db(db, p))
                pg.draw.line(surf, GRID, (p.left, y), (p.right - 1, y))
                lab = self.text.render(f"{db}", fs - 1, DIM)
                surf.blit(lab, (p.left - lab.get_width() - 5, y - lab.get_height() // 2))
            self._freq_labels(surf, p, below=True)
        if self.waterfall_plot is not None:
            p = self.waterfall_plot
            pg.draw.rect(surf, tuple(int(c) for c in self.colors[0]), p)
            self._freq_labels(surf, p, below=False)
        # meters scale
        self._meter_static(surf)
        self.static = surf
        self._bar_gradient()

    def _freq_labels(self, surf, plot, below: bool) -> None:
        """Frequency labels along the band axis; a label that would touch the one before it is left out."""
        fs = self.fs
        n = self.model.n_bands
        last = None  # far edge of the previous label (x going right, or y going up)
        for f in FREQ_LABELS:
            pos = self._freq_axis(f)
            if pos is None:
                continue
            lab = self.text.render(_fmt_freq(f), fs - 1, DIM)
            if below:  # under the bars: x at the band position
                x = int(plot.left + (pos + 0.5) * plot.width / n)
                left = x - lab.get_width() // 2
                if last is not None and left < last + 6:
                    continue
                last = left + lab.get_width()
                surf.blit(lab, (left, plot.bottom + 3))
                self.pg.draw.line(surf, GRID, (x, plot.bottom), (x, plot.bottom + 2))
            else:  # left of the waterfall: y at the band position
                y = int(plot.bottom - 1 - pos / max(1, n - 1) * (plot.height - 1))
                top = y - lab.get_height() // 2
                if last is not None and top + lab.get_height() > last - 1:
                    continue
                last = top
                surf.blit(lab, (plot.left - lab.get_width() - 5, top))

    def _bar_gradient(self) -> None:
        """A vertical strip coloured by level (the colour map from 20 % up), blitted in slices for the bars."""
        self._grad = None
        if self.bars_plot is None:
            return
        h = self.bars_plot.height
        idx = np.round(np.linspace(255, 50, h)).astype(int)  # top = loud = bright
        col = self.colors[idx]
        width = max(1, int((self._bar_x[:, 1] - self._bar_x[:, 0]).max())) if len(self._bar_x) else 1
        arr = np.repeat(col[None, :, :], width, axis=0)
        self._grad = self.pg.surfarray.make_surface(arr)

    def _meter_static(self, surf) -> None:
        pg, fs, v = self.pg, self.fs, self.model.view
        m = self.meters_panel
        label_h = fs + 6
        value_h = fs + 6
        self._meter_names = (("peak", "PK"), ("rms", "RMS"), ("momentary", "M"), ("short_term", "S"))
        scale_w = self.text.width("-60", fs - 1) + 8
        inner = pg.Rect(
            m.left + scale_w + 6,
            m.top + label_h + 4,
            m.width - scale_w - 14,
            max(10, m.height - label_h - value_h - 12),
        )
        self.meter_plot = inner
        n = len(self._meter_names)
        pitch = inner.width / n
        bar_w = max(3, int(pitch * 0.62))
        self._meter_x = [int(inner.left + i * pitch + (pitch - bar_w) / 2) for i in range(n)]
        self._meter_w = bar_w
        for i, (_, label) in enumerate(self._meter_names):
            lab = self.text.render(label, fs - 1, DIM)
            surf.blit(lab, (self._meter_x[i] + bar_w // 2 - lab.get_width() // 2, m.top + 4))
            pg.draw.rect(surf, BG, (self._meter_x[i], inner.top, bar_w, inner.height))
        line_h = self.text.font(fs - 1).get_height()
        last = None
        for db in (0, -6, -12, -18, -24, -36, -48, -60):
            if db < v.meter_floor_db:
                continue
            y = int(self._meter_y(db))
            if last is not None and y - last < line_h:
                continue
            last = y
            lab = self.text.render(f"{db}", fs - 1, DIM)
            surf.blit(lab, (inner.left - lab.get_width() - 6, y - lab.get_height() // 2))
            pg.draw.line(surf, GRID, (inner.left - 4, y), (inner.right, y))
        # the meter colour ramp: green, yellow above -18, red above -6
        h = inner.height
        dbs = v.meter_floor_db * (np.arange(h) / max(1, h - 1))  # row 0 = 0 dB
        col = np.where(
            (dbs > -6)[:, None], np.array(RED), np.where((dbs > -18)[:, None], np.array(YELLOW), np.array(GREEN))
        )
        self._meter_grad = self.pg.surfarray.make_surface(np.repeat(col[None], bar_w, axis=0).astype(np.uint8))

    def _meter_y(self, db: float) -> float:
        p, floor = self.meter_plot, self.model.view.meter_floor_db
        frac = min(1.0, max(0.0, (db - floor) / -floor)) if math.isfinite(db) else 0.0
        return p.bottom - frac * p.height

    def _make_waterfall_ring(self) -> None:
        """A surface as large as the waterfall plot whose column ``c % width`` holds time column ``c``."""
        pg = self.pg
        old, old_head = self._wf_ring, getattr(self, "_wf_head", None)
        self._wf_ring = None
        if self.waterfall_plot is None:
            return
        w, h = self.waterfall_plot.size
        ring = pg.Surface((w, h))
        ring.fill(tuple(int(c) for c in self.colors[0]))
        if old is not None and old_head is not None:  # keep the history: unroll, rescale in height, re-roll
            ow, oh = old.get_size()
            unrolled = pg.Surface((ow, oh))
            split = (old_head + 1) % ow
            unrolled.blit(old, (0, 0), (split, 0, ow - split, oh))
            unrolled.blit(old, (ow - split, 0), (0, 0, split, oh))
            if oh != h:
                unrolled = pg.transform.smoothscale(unrolled, (ow, h))
            m = min(ow, w)
            xs = (old_head - m + 1) % w
            first = min(m, w - xs)
            ring.blit(unrolled, (xs, 0), (ow - m, 0, first, h))
            if m > first:
                ring.blit(unrolled, (0, 0), (ow - m + first, 0, m - first, h))
        self._wf_ring = ring
        self._wf_head = old_head

    # -- per frame ------------------------------------------------------------------
    def draw(self, surface) -> None:
        """Draw the whole picture onto ``surface`` (same size as the layout)."""
        model = self.model
        if model.n_bands != self._bands_n or model.scale != self._scale:
            self._layout_bands()
            self._make_static()
        surface.blit(self.static, (0, 0))
        if not model.frozen:
            self._now = model.now
        self._update_waterfall()
        if self.bars_plot is not None:
            self._draw_bars(surface)
        if self.waterfall_plot is not None:
            self._draw_waterfall(surface)
        self._draw_strip(surface)
        self._draw_meters(surface)
        self._draw_info(surface)
        self._draw_captions(surface)
        self._draw_header(surface)

    def _draw_bars(self, surface) -> None:
        model, p = self.model, self.bars_plot
        if not model.n_bands or self._grad is None:
            return
        v = model.view
        tops = self._y_of_db(model.shown, p)
        peaks = self._y_of_db(model.peaks, p)
        blit = surface.blit
        grad = self._grad
        x = self._bar_x
        for k in range(len(tops)):
            top = int(tops[k])
            if top < p.bottom:  # a level above the floor: a bar
                blit(grad, (int(x[k, 0]), top), (0, top - p.top, int(x[k, 1] - x[k, 0]), p.bottom - top))
        fill = surface.fill
        visible = model.peaks > v.floor_db
        for k in np.flatnonzero(visible):
            y = int(peaks[k])
            if y < p.bottom - 1:
                fill(PEAK, (int(x[k, 0]), y - 1, int(x[k, 1] - x[k, 0]), 2))

    def _update_waterfall(self) -> None:
        model = self.model
        cols = model.take_columns()
        if self._wf_ring is None or self._rows is None:
            return
        w, h = self._wf_ring.get_size()
        pps = model.view.waterfall_px_per_s
        head = int(math.floor(self._now / model.rate * pps))
        if cols:
            head = max(head, max(c for c, _ in cols))
        old = self._wf_head
        pg = self.pg
        px = pg.surfarray.pixels3d(self._wf_ring)
        try:
            if old is None or head - old >= w:
                px[:] = self.colors[0]
            elif head > old:  # time moved on: blank the new columns, data fills them below
                idx = np.arange(old + 1, head + 1) % w
                px[idx] = self.colors[0]
            v = model.view
            i0, i1, frac = self._rows
            for c, bands in cols:
                if c <= head - w or (old is not None and c <= old - w):
                    continue
                if len(bands) != self._bands_n:
                    continue
                vals = bands[i0] * (1.0 - frac) + bands[i1] * frac
                norm = np.clip((vals - v.floor_db) / (v.top_db - v.floor_db), 0.0, 1.0)
                px[c % w] = self.colors[(norm * 255.0 + 0.5).astype(np.intp)]
        finally:
            del px
        self._wf_head = head if old is None else max(old, head)

    def _draw_waterfall(self, surface) -> None:
        p, ring = self.waterfall_plot, self._wf_ring
        if ring is None or self._wf_head is None:
            return
        w, h = ring.get_size()
        split = (self._wf_head + 1) % w  # the oldest column
        surface.blit(ring, (p.left, p.top), (split, 0, w - split, h))
        if split:
            surface.blit(ring, (p.left + w - split, p.top), (0, 0, split, h))

    def _x_of_time(self, t: float) -> float:
        """x of source time ``t`` (samples) on the strip; the right edge is the picture's now."""
        m = self.model
        return self.strip.right - 1 - (self._now - t) / m.rate * m.view.waterfall_px_per_s

    def _draw_strip(self, surface) -> None:
        pg, m, s, fs = self.pg, self.model, self.strip, self.fs
        span_s = s.width / m.view.waterfall_px_per_s
        now_s = self._now / m.rate
        clip = surface.get_clip()
        surface.set_clip(s)
        # speech spans
        for start, end in m.speech_spans:
            x0 = self._x_of_time(start)
            x1 = self._x_of_time(end if end is not None else self._now)
            if x1 < s.left or x0 > s.right:
                continue
            x0, x1 = max(s.left, int(x0)), min(s.right, int(math.ceil(x1)))
            pg.draw.rect(surface, (28, 56, 42), (x0, s.top, max(1, x1 - x0), s.height))
            pg.draw.line(surface, (50, 120, 80), (x0, s.top), (x0 + max(1, x1 - x0) - 1, s.top), 2)
        # seconds grid
        first = max(0, math.ceil(now_s - span_s))
        every = 2 if m.view.waterfall_px_per_s >= 40 else 10
        for sec in range(first, int(now_s) + 1):
            x = int(self._x_of_time(sec * m.rate))
            pg.draw.line(surface, FRAME, (x, s.top), (x, s.top + 4))
            if sec % every == 0:
                lab = self.text.render(f"{sec // 60}:{sec % 60:02d}", fs - 2, FAINT)
                if x + 3 + lab.get_width() < s.right:
                    surface.blit(lab, (x + 3, s.top + 1))
        # key moments
        for km in m.recent_moments(span_s):
            x = int(self._x_of_time(km.t))
            color = MOMENT_COLORS.get(km.kind, OTHER_MOMENT)
            frac = 0.35 + 0.65 * min(1.0, max(0.0, float(km.score)))
            y0 = s.bottom - int(frac * s.height)
            width = 3 if km.kind in ("downbeat", "section", "cut_suggestion") else 2
            pg.draw.rect(surface, color, (x - width // 2, y0, width, s.bottom - y0))
            if km.label and km.kind not in ("beat", "downbeat"):
                lab = self.text.render(km.label, fs - 2, color)
                surface.blit(lab, (x + 4, s.bottom - lab.get_height() - 1))
        surface.set_clip(clip)

    def _draw_meters(self, surface) -> None:
        m, fs = self.model, self.fs
        p = self.meter_plot
        bw = self._meter_w
        for i, (name, _) in enumerate(self._meter_names):
            meter = m.meters[name]
            x = self._meter_x[i]
            y = int(round(self._meter_y(meter.shown)))
            if y < p.bottom:
                surface.blit(self._meter_grad, (x, y), (0, y - p.top, bw, p.bottom - y))
            if name == "peak" and math.isfinite(meter.mark) and meter.mark > m.view.meter_floor_db:
                ym = int(round(self._meter_y(meter.mark)))
                surface.fill(RED if meter.mark > -0.1 else PEAK, (x, ym - 1, bw, 2))
            value = meter.value
            color = RED if name == "peak" and math.isfinite(value) and value > -0.1 else TEXT
            lab = self.text.render(_fmt_db(value), fs - 2, color)
            pitch = self._meter_x[1] - self._meter_x[0] if len(self._meter_x) > 1 else bw
            if lab.get_width() < pitch - 2:  # no room in a small window: the bars say it
                surface.blit(lab, (x + bw // 2 - lab.get_width() // 2, p.bottom + 5))

    def _draw_info(self, surface) -> None:
        pg, m, fs = self.pg, self.model, self.fs
        box = self.info_panel
        cx, cy = self.lamp_center
        r = self.lamp_radius
        x_text = cx + r + 10
        # speech lamp
        if m.speaking:
            glow = pg.Surface((4 * r, 4 * r), pg.SRCALPHA)
            pg.draw.circle(glow, (*LAMP_ON, 60), (2 * r, 2 * r), 2 * r)
            surface.blit(glow, (cx - 2 * r, cy - 2 * r))
            pg.draw.circle(surface, LAMP_ON, (cx, cy), r)
            lab = self.text.render("SPEECH", fs, TEXT)
        else:
            pg.draw.circle(surface, LAMP_OFF, (cx, cy), r)
            lab = self.text.render("speech", fs, DIM)
        surface.blit(lab, (x_text, cy - lab.get_height() // 2))
        if m.speaking:
            conf = self.text.render(f"{m.speech_confidence:.0%}", fs - 2, DIM)
            surface.blit(conf, (x_text + lab.get_width() + 8, cy - conf.get_height() // 2))
        y = cy + r + 12
        # language
        big = int(fs * 1.5)
        if m.language is not None and m.language.language == "unknown":
            lab = self.text.render("language ?", fs, DIM)
            surface.blit(lab, (box.left + 12, y + 4))
            guesses = "  ".join(f"{c} {p:.0%}" for c, p in m.language.top[:3])
            if guesses:
                o = self.text.render(guesses, fs - 2, FAINT)
                surface.blit(o, (box.left + 12, y + 6 + lab.get_height()))
        elif m.language is not None:
            code = m.language.language.upper()
            lab = self.text.render(code, big, TEXT)
            surface.blit(lab, (box.left + 12, y))
            prob = self.text.render(
                f"{m.language.probability:.0%}", fs, LAMP_ON if m.language.probability >= 0.7 else YELLOW
            )
            surface.blit(prob, (box.left + 20 + lab.get_width(), y + lab.get_height() - prob.get_height() - 2))
            others = "  ".join(f"{c} {p:.0%}" for c, p in m.language.top[1:3])
            if others:
                o = self.text.render(others, fs - 2, DIM)
                surface.blit(o, (box.left + 12, y + lab.get_height() + 1))
        else:
            lab = self.text.render("language -", fs, FAINT)
            surface.blit(lab, (box.left + 12, y + 4))
        y += big + fs + 12
        # tempo and beat pulse
        pulse = m.beat_pulse
        pr = r + int(round(3 * pulse))
        pcx = box.left + 12 + r
        pcy = y + r + 2
        base = np.array(LAMP_OFF, float)
        lit = np.array((250, 200, 80), float)
        color = tuple(int(c) for c in base + (lit - base) * min(1.0, pulse))
        pg.draw.circle(surface, color, (pcx, pcy), pr)
        if m.tempo is not None:
            lab = self.text.render(f"{m.tempo.bpm:.1f} BPM", fs, TEXT)
            conf = self.text.render(f"{m.tempo.confidence:.0%}", fs - 2, DIM)
            surface.blit(lab, (pcx + r + 10, pcy - lab.get_height() // 2))
            surface.blit(conf, (pcx + r + 16 + lab.get_width(), pcy - conf.get_height() // 2))
        else:
            lab = self.text.render("tempo -", fs, FAINT)
            surface.blit(lab, (pcx + r + 10, pcy - lab.get_height() // 2))

    def _draw_captions(self, surface) -> None:
        m, c = self.model, self.captions
        size = max(12, min(28, int(c.height / 2.6)))
        lines: list[tuple[str, tuple]] = []
        finals = list(m.captions)
        if m.partial:
            if finals:
                lines.append((finals[-1], DIM))
            lines.append((m.partial + " ...", (185, 185, 200)))
        else:
            if len(finals) >= 2:
                lines.append((finals[-2], DIM))
            if finals:
                lines.append((finals[-1], TEXT))
        if not lines:
            lab = self.text.render("captions appear here when a speech-to-text stage runs", self.fs, FAINT)
            surface.blit(lab, (c.left + 14, c.centery - lab.get_height() // 2))
            return
        line_h = int(size * 1.25)
        y = c.bottom - 8 - line_h * len(lines)
        for text, color in lines[-2:]:
            text = self._fit(text, size, c.width - 28)
            surface.blit(self.text.render(text, size, color), (c.left + 14, y))
            y += line_h

    def _fit(self, text: str, size: int, width: int) -> str:
        """``text`` cut at the front with an ellipsis if wider than ``width`` pixels (captions read at the end)."""
        if self.text.width(text, size) <= width:
            return text
        words = text.split()
        while len(words) > 1 and self.text.width("... " + " ".join(words), size) > width:
            words.pop(0)
        return "... " + " ".join(words)

    def _draw_header(self, surface) -> None:
        m, fs, hb = self.model, self.fs, self.header
        hud = self.hud
        y = hb.centery
        x = 10
        title = self.text.render("rtaudio", fs + 1, TEXT)
        surface.blit(title, (x, y - title.get_height() // 2))
        x += title.get_width() + 12
        name = os.path.basename(m.source) if m.source and "://" not in m.source else m.source
        name = name[:60] + ("..." if len(name) > 60 else "")
        lab = self.text.render(name, fs, DIM)
        surface.blit(lab, (x, y - lab.get_height() // 2))
        x += lab.get_width() + 16
        t = self._now / m.rate
        clock = _fmt_time(t) + (f" / {_fmt_time(m.duration_s)}" if m.duration_s else "")
        lab = self.text.render(clock, fs, TEXT)
        surface.blit(lab, (x, y - lab.get_height() // 2))
        x += lab.get_width() + 16
        badges = [(self.mode, FAINT), (m.scale, FAINT)]
        if m.frozen:
            badges.append(("FROZEN", RED))
        if hud.get("audio"):
            badges.append((hud["audio"], DIM))
        if m.dropped_samples or m.xruns:
            badges.append((f"audio lost {m.dropped_samples / m.rate:.2f} s, {m.xruns} xruns", YELLOW))
        if m.status:
            badges.append((m.status, YELLOW))
        for text, color in badges:
            lab = self.text.render(text, fs - 1, color)
            r = lab.get_rect(topleft=(x + 6, y - lab.get_height() // 2))
            self.pg.draw.rect(surface, GRID, r.inflate(10, 4), border_radius=4)
            surface.blit(lab, r)
            x = r.right + 10
        right = f"{hud.get('fps', 0):.0f} fps   {hud.get('dropped', 0)} dropped"
        lab = self.text.render(right, fs, DIM)
        surface.blit(lab, (hb.right - lab.get_width() - 10, y - lab.get_height() // 2))
