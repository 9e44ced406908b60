"""The wheel carries rtaudio's own language-ID model as package data, and an installed wheel finds it."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_the_langid_model(tmp_path):
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "-w",
            str(tmp_path / "whl"),
            "--no-deps",
            "--no-build-isolation",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "whl").glob("rtaudio-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "rtaudio/models/data/langid/langid.onnx" in names and "rtaudio/models/data/langid/labels.json" in names
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    found = subprocess.run(  # from the unpacked wheel alone, outside the source tree
        [sys.executable, "-c", "from rtaudio.models import registry; print(registry.resolve('langid'))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "RTAUDIO_CACHE": str(tmp_path / "cache")},
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == tmp_path / "site" / "rtaudio" / "models" / "data" / "langid" / "langid.onnx"
