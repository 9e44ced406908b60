"""Real recordings from the dev corpus, end to end (skipped with a reason where RTAUDIO_CORPUS is absent)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rtaudio.sources.av import FileSource


def test_talking_video_end_to_end(corpus, tmp_path):
    """The corpus video (42 s, speech with long pauses) through the CLI: complete, loudness right, pauses visible."""
    import pyloudnorm

    video = corpus / "video" / "talking-with-pauses.mp4"
    out = tmp_path / "events.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "rtaudio.cli", "analyze", str(video), "-o", str(out)], capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode()
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert recs[0]["type"] == "source" and recs[0]["rate"] == 48000 and recs[0]["layout"] == "stereo"
    assert recs[-1]["type"] == "end" and recs[-1]["reason"] == "end"
    assert recs[-1]["t"] == pytest.approx(recs[0]["duration_s"], abs=0.05)

    # integrated loudness agrees with pyloudnorm on the same decoded audio
    source = FileSource(str(video))
    audio = np.concatenate(list(source.blocks(lambda e: None)))
    source.close()
    reference = pyloudnorm.Meter(48000).integrated_loudness(audio.astype(np.float64))
    ours = next(r for r in recs if r["type"] == "loudness")["integrated_lufs"]
    assert abs(ours - reference) < 0.1

    # the long pauses show as quiet stretches, the speech as loud ones
    momentary = np.array([r["momentary_lufs"] for r in recs if r["type"] == "levels"])
    assert (momentary < ours - 20).mean() > 0.15
    assert (momentary > ours - 6).mean() > 0.25
    # the spectrum of speech peaks in the speech band
    centers = np.array(next(r for r in recs if r["type"] == "spectrum_bands")["centers_hz"])
    spectra = np.array([r["bands_db"] for r in recs if r["type"] == "spectrum"])
    loud = spectra[spectra.max(axis=1) > np.percentile(spectra.max(axis=1), 75)]
    assert 80 < centers[np.argmax(np.median(loud, axis=0))] < 2000


@pytest.mark.parametrize(
    "name", ["music/spleeter-audio_example.mp3", "music/Kevin_MacLeod_-_Vibe_Ace.ogg", "music/doremi.wav"]
)
def test_corpus_formats_decode_completely(corpus, name):
    source = FileSource(str(corpus / name))
    n = sum(len(b) for b in source.blocks(lambda e: None))
    source.close()
    assert n / source.rate == pytest.approx(source.duration_s, abs=0.06)


def test_corpus_video_without_audio_is_named(corpus):
    from rtaudio.errors import InputError

    with pytest.raises(InputError, match=r"big-buck-bunny-16s.mp4' has no audio stream \(streams: video h264\)"):
        FileSource(str(corpus / "video" / "big-buck-bunny-16s.mp4"))
