"""The report renders for music without speech, for speech without music, and shows words and languages."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from rtaudio.events import KeyMoment, Language, Levels, SpeechSegment, Tempo, Word
from rtaudio.report import Collector, Envelope, render, summary
from rtaudio.testing import beat_and_chords, speech

pytest.importorskip("matplotlib")


def cli(*args):
    proc = subprocess.run([sys.executable, "-m", "rtaudio.cli", *args], capture_output=True, timeout=180)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _png_size(path):
    import matplotlib.image as mpimg

    img = mpimg.imread(str(path))
    return img.shape


@pytest.mark.slow
def test_report_of_music_without_speech(tmp_path):
    wav = tmp_path / "music.wav"
    sf.write(wav, beat_and_chords(12.0, 22050, bpm=120), 22050)
    out = tmp_path / "report.png"
    code, _, err = cli("report", str(wav), "-o", str(out), "--no-progress")
    assert code == 0, err
    h, w, _ = _png_size(out)
    assert w >= 1600 and h >= 1000


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_report_of_speech_without_music_as_html(tmp_path):
    rate = 16000
    talk = speech("This is a short talk. It has a pause here.", rate)
    x = np.concatenate([np.zeros(rate // 2, np.float32), talk, np.zeros(rate, np.float32), talk])
    wav = tmp_path / "talk.wav"
    sf.write(wav, x, rate)
    out = tmp_path / "report.html"
    code, _, err = cli("report", str(wav), "-o", str(out), "--no-progress", "--title", "A talk")
    assert code == 0, err
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 1 and "<h1>A talk</h1>" in page
    assert "Cut suggestions (best first)" in page


def test_render_draws_words_language_and_ranked_cuts():
    """The speech lane shows transcript words and language labels when those events exist."""
    rate = 16000
    events = [Levels(int(t * rate), -10.0, -14.0, -20.0, -21.0) for t in np.arange(0.1, 10.0, 0.1)]
    events += [
        SpeechSegment(rate, 4 * rate, 0.9),
        Word(int(1.2 * rate), int(1.6 * rate), "hello", 0.9),
        Word(int(1.7 * rate), int(2.2 * rate), "world", 0.8),
        Language(4 * rate, "en", 0.93),
        KeyMoment(5 * rate, "beat", 0.8, "120 BPM"),
        KeyMoment(int(4.5 * rate), "cut_suggestion", 0.9, "pause"),
        KeyMoment(int(7.5 * rate), "cut_suggestion", 0.5, "silence"),
        KeyMoment(6 * rate, "section", 0.7, "B"),
    ]
    events += [Tempo(int(t * rate), 120.0, 0.8) for t in np.arange(0.5, 10.0, 0.5)]  # steady beats throughout
    col = Collector(10.0, 0.032)
    col.emit(events)
    env = Envelope(160)
    from rtaudio.stages.base import Frame

    env.process(Frame(0, (0.1 * np.sin(np.arange(10 * rate) / 10)).astype(np.float32)[:, None], rate))
    fig = render(col, env, rate=rate, duration_s=10.0, title="words")
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"hello", "world", " en 93%", "1", "2", "A", "B"} <= texts
    info = summary(events, rate, 10.0)
    assert info["words"] == 2 and info["languages"] == {"en": 1} and info["tempo_bpm"] == 120.0


def test_report_rejects_other_extensions(tmp_path):
    code, _, err = cli("report", str(tmp_path / "x.wav"), "-o", str(tmp_path / "r.pdf"))
    assert code == 2 and "output" in err and "expected .png or .html" in err
