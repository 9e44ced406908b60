"""The built-in demo: make a short video (speech over a beat and chords), analyse it, write the events.

Everything is synthesized here, so the demo runs on a fresh machine with no data.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from rtaudio.testing import beat_and_chords, speech

DEMO_RATE = 48000
DEMO_SECONDS = 12.0
DEMO_LINES = [
    (1.0, "Welcome to the real time audio analyzer."),
    (5.5, "Speech, music and silence, frame by frame."),
]


def make_demo_audio(rate: int = DEMO_RATE, duration: float = DEMO_SECONDS) -> tuple[np.ndarray, str]:
    """Stereo (n, 2) float32 demo mix and a note on what it holds.

    Music (120 BPM beat, C-G-Am-F chords) fills the whole clip; espeak-ng
    speech is placed at the times in ``DEMO_LINES``; the last 1.5 s are silent.
    """
    music = beat_and_chords(duration - 1.5, rate)
    mix = np.zeros((int(duration * rate), 2), np.float32)
    mix[: len(music), 0] += 0.8 * music
    mix[: len(music), 1] += 0.6 * music
    note = "120 BPM beat and chords"
    try:
        for start, text in DEMO_LINES:
            voice = speech(text, rate)
            i = int(start * rate)
            voice = voice[: len(mix) - i]
            mix[i : i + len(voice)] += 0.7 * voice[:, None]
        note += " with espeak-ng speech"
    except Exception as exc:  # the demo still runs without a speech synthesizer
        note += f" (no speech: {exc})"
    peak = np.abs(mix).max()
    if peak > 0.99:
        mix *= 0.99 / peak
    return mix, note


def write_demo_video(path: str, audio: np.ndarray, rate: int, fps: int = 25, size=(320, 180)) -> None:
    """Write ``audio`` (n, 2) with a simple moving picture as H.264/AAC MP4 at ``path``."""
    import av

    duration = len(audio) / rate
    with av.open(path, "w") as out:
        v = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "30"})
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        a = out.add_stream("aac", rate=rate, layout="stereo")
        w, h = size
        for k in range(int(duration * fps)):
            img = np.full((h, w, 3), 24, np.uint8)
            x = int((k % fps) / fps * (w - 20))
            img[h // 2 - 10 : h // 2 + 10, x : x + 20] = (230, 120, 40)
            img[h - 6 :, : int(w * k / (duration * fps))] = (80, 200, 120)
            for packet in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        block = 1024
        for i in range(0, len(audio), block):
            chunk = np.ascontiguousarray(audio[i : i + block].T)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = rate
            frame.pts = i
            frame.time_base = Fraction(1, rate)
            for packet in a.encode(frame):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)


def make_demo(directory: str) -> tuple[str, str]:
    """Create ``directory``/demo.wav and demo.mp4; returns (video path, note)."""
    import soundfile as sf

    os.makedirs(directory, exist_ok=True)
    audio, note = make_demo_audio()
    sf.write(os.path.join(directory, "demo.wav"), audio, DEMO_RATE, subtype="PCM_16")
    video = os.path.join(directory, "demo.mp4")
    write_demo_video(video, audio, DEMO_RATE)
    return video, note
