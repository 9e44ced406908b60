"""Sinks receive events from the engine: JSONL files, the terminal view, lists in memory."""

from __future__ import annotations

from rtaudio.events import Event, SourceInfo


class Sink:
    """Base sink: ``open`` once with the source's description, ``emit`` batches of events, ``close`` at the end."""

    def open(self, info: SourceInfo) -> None:
        self.info = info

    def emit(self, events: list[Event]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class ListSink(Sink):
    """Keeps every event in :attr:`events` (for the Python API and tests)."""

    def __init__(self):
        self.events: list[Event] = []

    def emit(self, events: list[Event]) -> None:
        self.events.extend(events)
