"""The model registry: lookup order, clear errors with the fix."""

import pytest

from rtaudio.errors import ModelError
from rtaudio.models import registry
from rtaudio.models.registry import ModelSpec


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.setenv("RTAUDIO_CACHE", str(tmp_path / "cache"))
    packaged = tmp_path / "site" / "toy"

    def check(path):
        if not (path / "weights.bin").exists():
            raise ModelError(f"{path} holds no weights.bin; expected a toy model folder")

    spec = registry.register(
        ModelSpec(
            "toy-model",
            "a toy",
            "RTAUDIO_TOY_MODEL",
            "fix: pip install toy-model",
            packaged=lambda: packaged if packaged.exists() else None,
            check=check,
        )
    )
    yield spec, tmp_path, packaged
    registry._SPECS.pop("toy-model")


def _model(folder):
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"x")
    return folder


def test_lookup_order(toy, monkeypatch):
    _, tmp, packaged = toy
    with pytest.raises(ModelError, match=r"no toy-model model found .*; fix: pip install toy-model"):
        registry.resolve("toy-model")
    _model(packaged)
    assert registry.resolve("toy-model") == packaged
    cached = _model(registry.cache_dir() / "toy-model")
    assert registry.resolve("toy-model") == cached
    env = _model(tmp / "env")
    monkeypatch.setenv("RTAUDIO_TOY_MODEL", str(env))
    assert registry.resolve("toy-model") == env
    explicit = _model(tmp / "explicit")
    assert registry.resolve("toy-model", explicit) == explicit


def test_errors_name_the_path_and_the_fix(toy, monkeypatch):
    _, tmp, _ = toy
    with pytest.raises(ModelError, match=r"toy-model model path '.*nowhere' does not exist; fix: pip install"):
        registry.resolve("toy-model", tmp / "nowhere")
    (tmp / "empty").mkdir()
    with pytest.raises(ModelError, match=r"holds no weights.bin"):
        registry.resolve("toy-model", tmp / "empty")
    monkeypatch.setenv("RTAUDIO_TOY_MODEL", str(tmp / "gone"))
    with pytest.raises(ModelError, match=r"path in \$RTAUDIO_TOY_MODEL '.*gone' does not exist"):
        registry.resolve("toy-model")
    with pytest.raises(ModelError, match=r"unknown model 'nope'"):
        registry.resolve("nope")
    with pytest.raises(ModelError, match=r"toy-model cannot be downloaded by rtaudio; fix: pip install toy-model"):
        registry.fetch("toy-model")
