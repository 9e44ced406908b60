"""Segment jobs: work on buffered segments of audio (stem separation, soundtrack rendering)."""
