"""The one error hierarchy of rtaudio.

Every error a user can cause (bad file, bad parameter, unknown device, dead
stream, missing extra) is an :class:`RtaudioError`; the CLI prints its message
in one line, without a traceback.
"""


class RtaudioError(Exception):
    """Root of all errors rtaudio raises on purpose.

    ``params`` names the library parameters the message writes as ``name=value`` (e.g. ``("stems",)``):
    the library speaks of its own parameters, and the CLI shows each as the flag that sets it (``--stems=4``).
    """

    def __init__(self, *args, params: tuple[str, ...] = ()):
        super().__init__(*args)
        self.params = tuple(params)  # kept through pickling (BaseException.__reduce__ carries __dict__)


class InputError(RtaudioError):
    """An input (file, stream, stdin, samples) is missing, empty, corrupt or malformed."""


class ParameterError(RtaudioError, ValueError):
    """A parameter has a value outside what is accepted."""


class DeviceError(RtaudioError):
    """An audio device cannot be found or opened."""


class StreamError(InputError):
    """A network stream cannot be opened or broke beyond recovery."""


class ModelError(RtaudioError):
    """A model is missing, incomplete or unreadable; the message says how to get it."""


class MissingDependencyError(RtaudioError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def require(module: str, extra: str):
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install 'rtaudio[extra]'``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is not installed; install it with: pip install 'rtaudio[{extra}]'"
        ) from exc
