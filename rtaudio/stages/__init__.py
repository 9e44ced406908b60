"""Frame stages: small classes with ``process(frame) -> list[Event]``, ``flush()`` and ``reset()``.

A stage knows nothing of threads, rings or sinks; the engine feeds it
:class:`~rtaudio.stages.base.Frame` blocks of any size at the stage's rate.
"""
