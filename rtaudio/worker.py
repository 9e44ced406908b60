"""An object that lives in a child process, called from this one as if it were here.

pocketsphinx and vosk decode without releasing Python's GIL: in the engine's reader thread a
recogniser call of 50 ms to 2 s stalls every other thread of the process (the window's frames,
JACK's callbacks). :class:`ProcessProxy` builds the recogniser in a child process instead; a call
sends its arguments through a pipe and waits for the answer, and while this process waits it holds
no GIL. The answers are the same as in-process (the same code runs); each call costs a pipe round
trip (about 0.1 ms) plus pickling its arguments and result.

:func:`make_worker`'s child (Whisper: asynchronous ``submit``/``results``, nobody waits for it) runs at a
lower scheduling priority (:data:`NICE`): on a loaded machine its decoding would otherwise take the CPU
from the reader thread and the window's frames (measured in ``benchmarks/test_bench_window.py``). A
:class:`ProcessProxy` whose answers the pipeline waits for (pocketsphinx, vosk) keeps this process's
priority: lowering it would hold the merge, and so the spectrum, behind it.

The pipeline places a stage there with placement ``"process"`` (``stt``, ``lid``, see
:mod:`rtaudio.pipeline`); the window commands (``play``, ``live``) do by default.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import weakref

from rtaudio.errors import ParameterError, RtaudioError

#: Values of the stages' ``worker`` argument (set from the pipeline's placement).
WORKERS = ("thread", "process")
#: Longest wait for one answer of a child process (s): a model load or a long decode takes seconds.
TIMEOUT_S = 600.0
#: How often a waiting call checks that the child is still alive (s).
POLL_S = 0.5
#: Niceness added to an asynchronous worker's child process (:class:`BackgroundProxy`; Unix; 0-19, higher:
#: a smaller share of a busy CPU). The parent's reader thread and window get the CPU first; an idle machine
#: runs the child at full speed all the same.
NICE = 10


def check_worker(stage: str, value) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of :data:`WORKERS`."""
    if value not in WORKERS:
        raise ParameterError(
            f"{stage}.worker={value!r} must be one of {', '.join(WORKERS)} (thread: in the "
            "caller's thread; process: a child process, so the decoder cannot stall "
            "other threads)"
        )


class WorkerError(RtaudioError):
    """The child process of a :class:`ProcessProxy` died or could not start."""


class ProcessProxy:
    """``factory(*args, **kwargs)`` built in a child process; ``proxy.name(...)`` calls its method ``name`` there.

    ``factory`` and the arguments must be picklable (a class importable by name, paths, numbers);
    so must the methods' arguments and results. An exception in the child is raised here again.
    The child is stopped by :meth:`close`, or when the proxy is garbage-collected.

    :attr:`timeout` (s, default :data:`TIMEOUT_S`; None: no limit) bounds the wait for one answer
    (the construction's included): past it, the child is stopped and :class:`WorkerError` raised. A child
    that dies is noticed
    within :data:`POLL_S` whatever the timeout.
    """

    timeout: float | None = None
    #: Niceness added to the child (0: this process's priority).
    nice: int = 0

    def __init__(self, factory, *args, **kwargs):
        self.timeout = TIMEOUT_S
        ctx = multiprocessing.get_context("spawn")  # no fork of a process whose threads hold locks
        self._conn, child = ctx.Pipe()
        self._name = getattr(factory, "__name__", str(factory))
        self._proc = ctx.Process(
            target=_serve, args=(child, factory, args, kwargs, self.nice), daemon=True, name=f"rtaudio-{self._name}"
        )
        self._proc.start()
        child.close()
        self._finalizer = weakref.finalize(self, _stop, self._conn, self._proc)
        self._pending = 0  # calls sent by submit() whose answers were not read yet
        self._answer()  # the construction's outcome

    def submit(self, name: str, *args, **kwargs) -> None:
        """Start ``obj.name(*args, **kwargs)`` in the child and return at once; :meth:`results` collects it.

        The child runs calls one after another: send a large argument only while :attr:`busy` is False,
        or the send waits until the child reads it.
        """
        try:
            self._conn.send((name, args, kwargs))
        except (OSError, ValueError) as exc:
            raise self._died() from exc
        self._pending += 1

    @property
    def busy(self) -> int:
        """Number of submitted calls whose answers were not collected yet."""
        return self._pending

    def results(self, wait: bool = False) -> list:
        """Answers of submitted calls that have arrived (all of them with ``wait``), in order.

        An exception raised by a call in the child is raised here (the answers collected before it
        in the same call are lost with it).
        """
        out = []
        while self._pending and (wait or self._conn.poll()):
            self._pending -= 1
            out.append(self._answer())
        return out

    def call(self, name: str, *args, **kwargs):
        """``obj.name(*args, **kwargs)`` in the child; its result, or its exception raised here."""
        if self._pending:
            raise WorkerError(
                f"{self._name} worker: call({name!r}) while {self._pending} submitted calls are unanswered; "
                "collect them with results(wait=True) first"
            )
        try:
            self._conn.send((name, args, kwargs))
        except (OSError, ValueError) as exc:
            raise self._died() from exc
        return self._answer()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(self.call, name)

    def close(self) -> None:
        """Stop the child process (idempotent)."""
        self._finalizer()

    def _answer(self):
        waited = 0.0
        try:
            while not self._conn.poll(POLL_S):
                waited += POLL_S
                if not self._proc.is_alive() and not self._conn.poll():
                    raise self._died()
                if self.timeout is not None and waited >= self.timeout:
                    self.close()  # its answer would come to the next call: stop it
                    raise WorkerError(
                        f"the {self._name} worker process gave no answer within timeout={self.timeout} s, "
                        "so it was stopped; expected one (raise the proxy's timeout for slower calls)"
                    )
            ok, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise self._died() from exc
        if not ok:
            raise value
        return value

    def _died(self) -> WorkerError:
        self._proc.join(timeout=1.0)
        return WorkerError(
            f"the {self._name} worker process ended (exit code {self._proc.exitcode}); "
            "expected it to answer; run its stage inline (placement {stage: 'inline'}, CLI --place "
            "STAGE=inline) to see the error in this process"
        )


class BackgroundProxy(ProcessProxy):
    """A :class:`ProcessProxy` whose child runs :data:`NICE` steps below this process: for asynchronous work."""

    nice = NICE


class InThread:
    """:class:`ProcessProxy`'s ``submit``/``results`` interface for an object in this thread.

    ``submit`` runs the call at once (so results come in the same order and at the same point of
    the stream as they were asked for: deterministic); ``results`` returns them.
    """

    def __init__(self, factory, *args, **kwargs):
        self.obj = factory(*args, **kwargs)
        self._done: list = []

    def submit(self, name: str, *args, **kwargs) -> None:
        self._done.append(getattr(self.obj, name)(*args, **kwargs))

    @property
    def busy(self) -> int:
        return len(self._done)

    def results(self, wait: bool = False) -> list:
        out, self._done = self._done, []
        return out

    def call(self, name: str, *args, **kwargs):
        return getattr(self.obj, name)(*args, **kwargs)

    def close(self) -> None:
        pass


def make_worker(where: str, factory, *args, **kwargs):
    """``factory(*args, **kwargs)`` in this thread (``"thread"``: :class:`InThread`) or in a child process at a
    lower priority (``"process"``: :class:`BackgroundProxy`), both with ``submit``/``results``/``call``."""
    return BackgroundProxy(factory, *args, **kwargs) if where == "process" else InThread(factory, *args, **kwargs)


def _serve(conn, factory, args, kwargs, nice: int = 0) -> None:
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    try:
        obj = factory(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send((False, exc))
        return
    conn.send((True, None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        name, args, kwargs = message
        try:
            result = (True, getattr(obj, name)(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            result = (False, exc)
        conn.send(result)


def _stop(conn, proc) -> None:
    try:
        conn.send(None)
    except (OSError, ValueError):
        pass
    conn.close()
    proc.join(timeout=2.0)
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout=1.0)
