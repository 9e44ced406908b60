"""Stage parameters from a TOML file and ``-p stage.name=value`` overrides.

Each stage has one frozen params dataclass; a TOML table per stage sets its
fields::

    [spectrum]
    n_fft = 4096
    scale = "mel"

    [levels]
    hop_s = 0.1
"""

from __future__ import annotations

import dataclasses
import os
import typing

from rtaudio.errors import ParameterError


def load_toml(path: str | os.PathLike) -> dict[str, dict]:
    """Read a config file into ``{stage: {field: value}}``."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ParameterError(f"config file {os.fspath(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"config file {os.fspath(path)!r} is not valid TOML: {exc}") from None
    for key, value in data.items():
        if not isinstance(value, dict):
            raise ParameterError(
                f"config file {os.fspath(path)!r}: {key!r} must be a table like [{key}]; expected one table per stage"
            )
    return data


def parse_override(text: str) -> tuple[str, str, str]:
    """``"spectrum.n_fft=4096"`` -> ``("spectrum", "n_fft", "4096")``."""
    key, sep, value = text.partition("=")
    stage, dot, name = key.strip().partition(".")
    if not sep or not dot or not stage or not name:
        raise ParameterError(f"-p {text!r} must look like STAGE.NAME=VALUE, e.g. -p spectrum.n_fft=4096")
    return stage, name.strip(), value.strip()


def _convert(raw, tp, label: str):
    """Convert a CLI string (or TOML value) to the field type ``tp``."""
    args = typing.get_args(tp)
    if args and type(None) in args:  # Optional[X]
        if isinstance(raw, str) and raw.lower() in ("none", "null", ""):
            return None
        tp = next(a for a in args if a is not type(None))
    if typing.get_origin(tp) is tuple:  # "1,1,1.41" on the CLI, [1, 1, 1.41] in TOML
        item = typing.get_args(tp)[0]
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)):
            raise ParameterError(f"{label}={raw!r} must be a list of {item.__name__}")
        return tuple(_convert(v.strip() if isinstance(v, str) else v, item, label) for v in items)
    if not isinstance(raw, str):
        ok = isinstance(raw, tp) or (tp is float and isinstance(raw, int) and not isinstance(raw, bool))
        if not ok:
            raise ParameterError(f"{label}={raw!r} must be of type {tp.__name__}")
        return tp(raw)
    try:
        if tp is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        return tp(raw)
    except ValueError:
        raise ParameterError(f"{label}={raw!r} must be of type {tp.__name__}") from None


def make_params(cls, stage: str, values: dict):
    """Build the params dataclass ``cls`` with ``values`` over its defaults; unknown names are errors."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for name, raw in values.items():
        if name not in fields:
            raise ParameterError(
                f"unknown parameter {stage}.{name}; {stage} parameters are: {', '.join(sorted(fields))}"
            )
        kwargs[name] = _convert(raw, hints[name], f"{stage}.{name}")
    return cls(**kwargs)
