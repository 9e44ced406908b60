"""Tiny tasks for measuring an engine's overhead and checking retries (tests, benchmarks).

They live in the package (not in a test module) so every engine's workers can import them.
"""

from __future__ import annotations

import os


def noop(x=None):
    """Return ``x``: the cost of a task that does nothing."""
    return x


def fail_once(marker: str, value=None):
    """Raise a transient ``ConnectionError`` the first time (creating ``marker``), then return ``value``."""
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        raise ConnectionError(f"simulated transient fault (marker {marker})")
    return value


def total(array) -> float:
    """Sum of an array that travelled by :meth:`put` (a path or a Ray reference)."""
    from rtaudio.jobs.executors import fetch

    return float(fetch(array).sum())
