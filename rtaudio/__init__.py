"""rtaudio: a real-time streaming audio analyzer.

``import rtaudio`` stays light: heavy modules (numba, PyAV, sounddevice) are
imported where they are used.
"""

from rtaudio.errors import RtaudioError

__version__ = "0.1.0"
__all__ = ["RtaudioError", "__version__", "render_soundtrack"]


def __getattr__(name):
    if name == "render_soundtrack":  # imported on first use: it pulls in the soundtrack job
        from rtaudio.jobs.soundtrack.render import render_soundtrack

        return render_soundtrack
    raise AttributeError(f"module 'rtaudio' has no attribute {name!r}")
