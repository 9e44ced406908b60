"""rtaudio: a real-time streaming audio analyzer.

``import rtaudio`` stays light: heavy modules (numba, PyAV, sounddevice) are
imported where they are used.
"""

from rtaudio.errors import RtaudioError

__version__ = "0.1.0"
__all__ = ["RtaudioError", "__version__"]
