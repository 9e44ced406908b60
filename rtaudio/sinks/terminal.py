"""A live terminal view (rich) for ``rtaudio monitor`` when there is no display.

The engine's reader thread only stores the latest state here (no drawing, no
blocking); the main thread redraws a few times a second from that state.
"""

from __future__ import annotations

import math
import time

import numpy as np

from rtaudio.events import Event, Levels, Overflow, SourceFault, SourceRecovered, SpectrumBands, SpectrumFrame, Xrun
from rtaudio.sinks import Sink

BLOCKS = " ▁▂▃▄▅▆▇█"


def meter(value_db: float, lo: float = -60.0, hi: float = 0.0, width: int = 30) -> str:
    """A horizontal bar for a level in dB between ``lo`` and ``hi``."""
    if value_db is None or not math.isfinite(value_db):
        return "·" * width
    filled = int(round(width * min(1.0, max(0.0, (value_db - lo) / (hi - lo)))))
    return "█" * filled + "·" * (width - filled)


def sparkline(values_db: np.ndarray, lo: float = -90.0, hi: float = 0.0, width: int = 64) -> str:
    """Band levels as one line of block characters, resampled to ``width`` columns."""
    if values_db is None or len(values_db) == 0:
        return ""
    idx = np.linspace(0, len(values_db) - 1, width).round().astype(int)
    scaled = np.clip((values_db[idx] - lo) / (hi - lo), 0, 1)
    return "".join(BLOCKS[int(round(v * (len(BLOCKS) - 1)))] for v in scaled)


class TerminalView(Sink):
    """Keeps the latest meters, spectrum and faults; :meth:`show` draws them until the engine stops."""

    def __init__(self, refresh_hz: float = 15.0):
        self.refresh_hz = refresh_hz
        self.levels: Levels | None = None
        self.spectrum: SpectrumFrame | None = None
        self.centers: tuple[float, ...] = ()
        self.dropped = 0
        self.xruns = 0
        self.last_fault = ""
        self.t = 0

    def emit(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Levels):
                self.levels, self.t = e, e.t
            elif isinstance(e, SpectrumFrame):
                self.spectrum, self.t = e, e.t
            elif isinstance(e, SpectrumBands):
                self.centers = e.centers_hz
            elif isinstance(e, Overflow):
                self.dropped += e.dropped
            elif isinstance(e, Xrun):
                self.xruns += e.count
            elif isinstance(e, SourceFault):
                self.last_fault = f"fault at {e.t / self.info.rate:.1f} s: {e.message} (attempt {e.attempt})"
            elif isinstance(e, SourceRecovered):
                self.last_fault = f"recovered at {e.t / self.info.rate:.1f} s after {e.attempt} attempt(s)"

    def render(self):
        from rich.table import Table

        info = getattr(self, "info", None)
        table = Table.grid(padding=(0, 1))
        table.add_column(justify="right", style="bold")
        table.add_column()
        if info is not None:
            table.add_row("input", f"{info.source}  {info.rate} Hz {info.layout}")
            table.add_row("time", f"{self.t / info.rate:8.1f} s")
        lv = self.levels
        for label, value, lo in (
            ("peak", lv and lv.peak_dbfs, -60.0),
            ("rms", lv and lv.rms_dbfs, -60.0),
            ("LUFS M", lv and lv.momentary_lufs, -60.0),
            ("LUFS S", lv and lv.short_term_lufs, -60.0),
        ):
            shown = f"{value:6.1f}" if value is not None and math.isfinite(value) else "  -inf"
            table.add_row(label, f"{meter(value, lo)} {shown}")
        if self.spectrum is not None:
            table.add_row("spectrum", sparkline(self.spectrum.bands_db))
            if self.centers:
                table.add_row("", f"{self.centers[0]:.0f} Hz {'':>52} {self.centers[-1] / 1000:.0f} kHz")
        table.add_row("dropped", f"{self.dropped} samples, {self.xruns} device overruns")
        if self.last_fault:
            table.add_row("stream", self.last_fault)
        return table

    def show(self, engine, duration: float | None = None):
        """Run ``engine`` and redraw until it ends, ``duration`` seconds pass, or Ctrl-C; returns its result."""
        from rich.console import Console
        from rich.live import Live

        engine.start()
        t0 = time.perf_counter()
        console = Console(stderr=True)
        try:
            with Live(self.render(), console=console, refresh_per_second=self.refresh_hz, transient=False) as live:
                while engine.running:
                    if duration is not None and time.perf_counter() - t0 >= duration:
                        engine.stop()
                    time.sleep(1 / self.refresh_hz)
                    live.update(self.render())
                live.update(self.render())
            console.line()
        except KeyboardInterrupt:
            engine.stop()
        return engine.join()
