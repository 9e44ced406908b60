"""Frame stages: small classes with ``process(frame) -> list[Event]``, ``flush()`` and ``reset()``.

A stage knows nothing of threads, rings or sinks; the engine feeds it
:class:`~rtaudio.stages.base.Frame` blocks of any size at the stage's rate.
:func:`build_stages` makes them by name with parameters from the config.
"""

from __future__ import annotations

import importlib
import inspect

from rtaudio.errors import ParameterError

#: stage name -> (module, stage class, params class)
STAGES: dict[str, tuple[str, str, str]] = {
    "spectrum": ("rtaudio.stages.spectrum", "SpectrumStage", "SpectrumParams"),
    "levels": ("rtaudio.stages.levels", "LevelsStage", "LevelsParams"),
    "onsets": ("rtaudio.stages.onsets", "OnsetsStage", "OnsetsParams"),
    "beats": ("rtaudio.stages.beats", "BeatsStage", "BeatsParams"),
    "sections": ("rtaudio.stages.sections", "SectionsStage", "SectionsParams"),
    "moments": ("rtaudio.stages.moments", "MomentsStage", "MomentsParams"),
    "lid": ("rtaudio.stages.lid", "LidStage", "LidParams"),
    "vad": ("rtaudio.stages.vad", "VADStage", "VADParams"),
    "stt": ("rtaudio.stages.stt", "STTStage", "STTParams"),
}

DEFAULT_STAGES = ("spectrum", "levels")


def stage_classes(name: str):
    """(stage class, params class) of the stage called ``name``."""
    if name not in STAGES:
        raise ParameterError(f"unknown stage {name!r}; available stages: {', '.join(STAGES)}")
    module, stage_cls, params_cls = STAGES[name]
    mod = importlib.import_module(module)
    return getattr(mod, stage_cls), getattr(mod, params_cls)


def build_stages(names, *, sample_rate: int, channels: int, config: dict[str, dict] | None = None):
    """Stages ``names`` for a source of ``sample_rate`` Hz and ``channels``, with ``config[name]`` parameters."""
    from rtaudio.config import make_params

    config = config or {}
    unknown = set(config) - set(STAGES)
    if unknown:
        raise ParameterError(
            f"unknown stage {sorted(unknown)[0]!r} in the config; available stages: {', '.join(STAGES)}"
        )
    stages = []
    for name in names:
        stage_cls, params_cls = stage_classes(name)
        params = make_params(params_cls, name, config.get(name, {}))
        kwargs = {"sample_rate": sample_rate}
        if "channels" in inspect.signature(stage_cls).parameters:
            kwargs["channels"] = channels
        stages.append(stage_cls(params, **kwargs))
    return stages
