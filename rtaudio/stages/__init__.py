"""Frame stages: small classes with ``process(frame) -> list[Event]``, ``flush()`` and ``reset()``.

A stage knows nothing of threads, rings or sinks; the engine feeds it
:class:`~rtaudio.stages.base.Frame` blocks of any size at the stage's rate.
:func:`build_stages` makes them by name with parameters from the config.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import warnings

from rtaudio.errors import ParameterError
from rtaudio.stages.base import check_placement

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


def build_stages(
    names,
    *,
    sample_rate: int,
    channels: int,
    config: dict[str, dict] | None = None,
    placement: dict[str, str] | None = None,
):
    """Stages ``names`` for a source of ``sample_rate`` Hz and ``channels``, with ``config[name]`` parameters.

    ``placement`` (``{name: "inline" | "thread" | "process"}``, see :mod:`rtaudio.pipeline`) is kept on
    each stage as ``stage.placement`` for the pipeline; ``"process"`` builds the stage with its
    recogniser in a child process. The old parameter ``stt.worker`` / ``lid.worker`` still works,
    with a :class:`DeprecationWarning`: ``worker="process"`` is placement ``"process"``.
    """
    from rtaudio.config import make_params

    config = config or {}
    placement = dict(placement or {})
    unknown = set(config) - set(STAGES)
    if unknown:
        raise ParameterError(
            f"unknown stage {sorted(unknown)[0]!r} in the config; available stages: {', '.join(STAGES)}"
        )
    unknown = set(placement) - set(names)
    if unknown:
        raise ParameterError(
            f"placement for {sorted(unknown)[0]!r}: no such stage in this run ({', '.join(names) or 'none'})"
        )
    stages = []
    for name in names:
        stage_cls, params_cls = stage_classes(name)
        values = dict(config.get(name, {}))
        if "worker" in values and "worker" not in {f.name for f in dataclasses.fields(params_cls)}:
            placement.setdefault(name, _deprecated_worker(name, values.pop("worker")))
        params = make_params(params_cls, name, values)
        kwargs = {"sample_rate": sample_rate}
        accepts = inspect.signature(stage_cls).parameters
        if "channels" in accepts:
            kwargs["channels"] = channels
        where = check_placement(name, placement.get(name, "inline"))
        if where == "process":
            if "worker" not in accepts:
                raise ParameterError(f"placement {name}='process': the {name} stage has no recogniser to move")
            kwargs["worker"] = "process"
        stage = stage_cls(params, **kwargs)
        stage.placement = where
        stages.append(stage)
    return stages


def _deprecated_worker(name: str, value) -> str:
    """The placement meant by the old parameter ``{name}.worker``."""
    from rtaudio.worker import check_worker

    check_worker(name, value)
    where = "process" if value == "process" else "inline"
    warnings.warn(
        f"{name}.worker={value!r} is deprecated: where a stage runs is the pipeline's placement now; "
        f"use placement {{{name!r}: {where!r}}} (Python) or --place {name}={where} (CLI)",
        DeprecationWarning,
        stacklevel=3,
    )
    return where
