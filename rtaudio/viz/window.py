"""The pygame window: the main-thread loop that drains the sink, animates the model and draws it.

One display frame (:meth:`Window.step`):

1. handle window events (keys, resize, close);
2. read the clock: the sample being heard now (playback), or None (live: show what arrived);
3. take the due events from the :class:`~rtaudio.viz.sink.VizSink` into the
   :class:`~rtaudio.viz.model.DisplayModel`, then advance its animations by the
   frame's duration;
4. draw with the :class:`~rtaudio.viz.render.Renderer` and flip.

:meth:`Window.run` repeats that at ``fps`` frames per second while an engine
runs.  Frames are paced by a deadline, not by sleeping a fixed time; a frame
that misses its slot by a whole period is counted as dropped (shown in the
header).  Nothing here blocks the engine: the sink hands over events without
locks, and the engine never waits for the window.

Keys: ``1`` bars, ``2`` waterfall, ``3`` both, ``Tab``/``V`` next mode, ``M``
mel/octave, ``Space``/``F`` freeze, ``Q``/``Esc`` quit.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Callable

from rtaudio.errors import DeviceError, MissingDependencyError, ParameterError
from rtaudio.viz.model import DisplayModel, ViewParams
from rtaudio.viz.render import MODES, Renderer
from rtaudio.viz.sink import VizSink

HEADLESS_DRIVERS = ("dummy", "offscreen")


#: Stage parameters the window uses unless the config or ``-p`` says otherwise: a crisper
#: waterfall (short release), a frame every 256 samples (low latency), meters 50 times a second,
#: speech recognisers in child processes.
WINDOW_DEFAULTS: dict[str, dict] = {
    "spectrum": {"hop": 256, "release_s": 0.05},
    "levels": {"hop_s": 0.02},
}
#: Where the window runs the slow stages unless ``--place`` says otherwise: in the pipeline's lane with
#: the recogniser in a child process (in the reader thread it holds the GIL for up to seconds, and the
#: window, and JACK's callback, would stall meanwhile).
WINDOW_PLACEMENT: dict[str, str] = {"stt": "process", "lid": "process"}


def import_pygame():
    """Import pygame (pygame-ce) quietly, or raise :class:`MissingDependencyError`."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame
    except ImportError as exc:
        raise MissingDependencyError("pygame is not installed; the window needs it: pip install pygame-ce") from exc
    return pygame


def has_display() -> bool:
    """Whether a window can be shown: X11/Wayland on Linux/BSD, always elsewhere, or a driver the user set."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` -> (1280, 720)."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ParameterError(f"--size={text!r} must be WIDTHxHEIGHT in pixels, e.g. 1280x720") from None
    if not (160 <= w <= 16384 and 120 <= h <= 16384):
        raise ParameterError(f"--size={text!r} must be at least 160x120 and at most 16384x16384 pixels")
    return w, h


class Window:
    """A resizable pygame window showing what a :class:`VizSink` receives.

    Parameters
    ----------
    sink : VizSink
        The engine's sink for this window.
    size : (int, int), pixels
        Initial window size.
    mode : {"both", "bars", "waterfall"}
    fps : float > 0, frames per second
        Target frame rate (default 60).
    clock : callable () -> float or None, optional
        The source sample index being heard now (a playback clock); None or a callable
        returning None: show events as soon as they arrive (live input).
    view : ViewParams, optional
    headless : bool
        Draw without a display (SDL's ``dummy`` driver) when there is none, e.g. for
        ``--screenshot``.  Without it, a missing display raises :class:`DeviceError`.
    title : str
    scale_switch : object with ``toggle()``, optional
        The spectrum stage to switch between octave and mel bands (``M`` key);
        see :class:`~rtaudio.viz.switch.ScaleSwitchStage`.
    audio_status : str
        A short note shown in the header (e.g. ``"no audio out"``).

    Raises
    ------
    DeviceError
        No display (and not ``headless``): the message suggests ``--screenshot`` or ``rtaudio monitor``.
    """

    def __init__(
        self,
        sink: VizSink,
        *,
        size: tuple[int, int] = (1280, 720),
        mode: str = "both",
        fps: float = 60.0,
        clock: Callable[[], float | None] | None = None,
        view: ViewParams | None = None,
        headless: bool = False,
        title: str = "rtaudio",
        scale_switch=None,
        audio_status: str = "",
    ):
        if mode not in MODES:
            raise ParameterError(f"--mode={mode!r} must be one of {', '.join(MODES)}")
        if not (isinstance(fps, (int, float)) and 1 <= fps <= 500):
            raise ParameterError(f"--fps={fps!r} must be a frame rate between 1 and 500 frames per second")
        self.pg = pg = import_pygame()
        if not has_display():
            if not headless:
                raise DeviceError(
                    "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set); render headless "
                    "with --screenshot PATH --duration S, or watch in the terminal with: rtaudio monitor"
                )
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        try:
            pg.display.init()
            pg.font.init()
        except pg.error as exc:
            raise DeviceError(
                f"cannot open a window ({exc}); render headless with --screenshot PATH --duration S, "
                "or watch in the terminal with: rtaudio monitor"
            ) from None
        driver = pg.display.get_driver()
        if driver in HEADLESS_DRIVERS and not headless and os.environ.get("SDL_VIDEODRIVER") not in HEADLESS_DRIVERS:
            pg.display.quit()
            raise DeviceError(
                f"no display to open a window on (SDL found only its {driver!r} video driver); render headless "
                "with --screenshot PATH --duration S, or watch in the terminal with: rtaudio monitor"
            )
        self.headless = driver in HEADLESS_DRIVERS
        self.sink = sink
        self.clock = clock
        self.fps = float(fps)
        self.model = DisplayModel(view)
        self.scale_switch = scale_switch
        pg.display.set_caption(title)
        self.screen = pg.display.set_mode(size, pg.RESIZABLE)
        self.renderer = Renderer(self.model, self.screen.get_size(), mode)
        self.renderer.hud["audio"] = audio_status
        self.frames = 0
        self.dropped = 0
        self.frame_times: deque[float] = deque(maxlen=240)  # seconds spent drawing each frame
        self._flips: deque[float] = deque(maxlen=120)
        self._last = None
        self._deadline = None
        self.quit = False
        #: with a clock, events are shown this long before they are heard (s): half a frame, so that
        #: the picture is at most half a frame early or late instead of up to a frame late
        self.lookahead_s = 0.5 / self.fps
        self.on_frame: Callable[[Window, float], None] | None = None  # called after each flip (benchmarks)

    # -- one frame ---------------------------------------------------------------
    def handle_events(self) -> None:
        pg = self.pg
        for ev in pg.event.get():
            if ev.type == pg.QUIT:
                self.quit = True
            elif ev.type == pg.VIDEORESIZE:
                self.resize(ev.size)
            elif ev.type == pg.KEYDOWN:
                self.key(ev.key)

    def key(self, key: int) -> None:
        """Act on a key (a pygame key code)."""
        pg, r = self.pg, self.renderer
        if key in (pg.K_q, pg.K_ESCAPE):
            self.quit = True
        elif key == pg.K_1:
            r.set_mode("bars")
        elif key == pg.K_2:
            r.set_mode("waterfall")
        elif key == pg.K_3:
            r.set_mode("both")
        elif key in (pg.K_TAB, pg.K_v):
            r.set_mode(MODES[(MODES.index(r.mode) + 1) % len(MODES)])
        elif key in (pg.K_SPACE, pg.K_f):
            self.model.set_frozen(not self.model.frozen)
        elif key == pg.K_m and self.scale_switch is not None:
            self.scale_switch.toggle()

    def resize(self, size: tuple[int, int]) -> None:
        """Follow a new window size (pixels)."""
        pg = self.pg
        size = (max(160, int(size[0])), max(120, int(size[1])))
        if self.screen.get_size() != size:
            self.screen = pg.display.set_mode(size, pg.RESIZABLE)
        self.renderer.resize(self.screen.get_size())

    def now(self) -> float | None:
        return None if self.clock is None else self.clock()

    def step(self, dt: float | None = None) -> None:
        """Draw one frame; ``dt`` (s) is the display time since the last one (default: measured)."""
        t0 = time.perf_counter()
        if dt is None:
            dt = 0.0 if self._last is None else t0 - self._last
        self._last = t0
        self.handle_events()
        now = self.now()
        model = self.model
        if now is not None:  # show what will be heard half a frame from now: the error is +-half a frame
            now += self.lookahead_s * model.rate
        for e in self.sink.due(now):
            model.apply(e)
        if now is not None:
            model.set_now(int(now))
        model.advance(min(dt, 0.5))
        r = self.renderer
        r.hud["fps"] = self.measured_fps
        r.hud["dropped"] = self.dropped
        r.draw(self.screen)
        self.pg.display.flip()
        flipped = time.perf_counter()
        self.frame_times.append(flipped - t0)
        self._flips.append(flipped)
        self.frames += 1
        if self.on_frame is not None:
            self.on_frame(self, flipped)

    @property
    def measured_fps(self) -> float:
        f = self._flips
        if len(f) < 2 or f[-1] == f[0]:
            return 0.0
        return (len(f) - 1) / (f[-1] - f[0])

    def wait_next(self) -> None:
        """Sleep until the next frame's deadline; count the frames missed when late."""
        period = 1.0 / self.fps
        now = time.perf_counter()
        if self._deadline is None:
            self._deadline = now
        self._deadline += period
        late = now - self._deadline
        if late > period:  # missed at least one whole frame slot
            self.dropped += int(late / period)
            self._deadline = now
            return
        if late < 0:
            time.sleep(-late)

    # -- whole runs ---------------------------------------------------------------
    def run(
        self,
        engine,
        *,
        duration: float | None = None,
        screenshot: str | None = None,
        done: Callable[[], bool] | None = None,
    ):
        """Show ``engine``'s events until the input is over, ``duration`` s pass, or the user quits.

        Parameters
        ----------
        engine : Engine
            Started here (its sinks must include this window's sink).
        duration : float > 0, seconds, optional
        screenshot : path, optional
            Save the last frame as PNG there.
        done : callable () -> bool, optional
            Extra end condition checked once the engine has finished (e.g. playback drained);
            default: every event has been shown.

        Returns
        -------
        RunResult of the engine.
        """
        engine.start()
        t0 = time.perf_counter()
        try:
            while not self.quit:
                self.step()
                if duration is not None and time.perf_counter() - t0 >= duration:
                    break
                if not engine.running and self.sink.closed:
                    finished = done() if done is not None else self.sink.pending == 0
                    if finished:
                        break
                self.wait_next()
        except KeyboardInterrupt:
            pass
        finally:
            engine.stop()
            if screenshot:
                self.save(screenshot)
        return engine.join()

    def save(self, path: str) -> None:
        """Save the current frame as a PNG file."""
        try:
            self.pg.image.save(self.screen, os.fspath(path))
        except (self.pg.error, OSError) as exc:
            raise ParameterError(f"--screenshot={os.fspath(path)!r} cannot be written: {exc}") from None

    def close(self) -> None:
        self.pg.display.quit()
