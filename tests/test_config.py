"""Stage parameters from TOML and -p overrides."""

import pytest

from rtaudio.config import load_toml, make_params, parse_override
from rtaudio.errors import ParameterError
from rtaudio.stages import build_stages, stage_classes


def test_types_are_converted_from_cli_strings():
    _, params_cls = stage_classes("levels")
    p = make_params(params_cls, "levels", {"hop_s": "0.05", "channel_weights": "1,1,1.41", "tail_block": "false"})
    assert p.hop_s == 0.05 and p.channel_weights == (1.0, 1.0, 1.41) and p.tail_block is False
    _, params_cls = stage_classes("spectrum")
    p = make_params(params_cls, "spectrum", {"fmax": "none", "n_fft": "1024"})
    assert p.fmax is None and p.n_fft == 1024


def test_toml_values_keep_their_types(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[levels]\nchannel_weights = [1, 1]\nhop_s = 0.1\n[spectrum]\nscale = "mel"\n')
    config = load_toml(cfg)
    stages = build_stages(["spectrum", "levels"], sample_rate=48000, channels=2, config=config)
    assert stages[0].params.scale == "mel"
    assert stages[1].params.channel_weights == (1.0, 1.0)


def test_errors_name_the_value():
    _, params_cls = stage_classes("levels")
    with pytest.raises(ParameterError, match=r"levels.hop_s='fast' must be of type float"):
        make_params(params_cls, "levels", {"hop_s": "fast"})
    with pytest.raises(ParameterError, match=r"levels.tail_block='maybe' must be of type bool"):
        make_params(params_cls, "levels", {"tail_block": "maybe"})
    with pytest.raises(ParameterError, match=r"must look like STAGE.NAME=VALUE"):
        parse_override("spectrum=3")
    with pytest.raises(ParameterError, match=r"unknown stage 'fft' in the config"):
        build_stages(["spectrum"], sample_rate=48000, channels=1, config={"fft": {}})


def test_config_table_required(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("n_fft = 4096\n")
    with pytest.raises(ParameterError, match=r"'n_fft' must be a table like \[n_fft\]"):
        load_toml(cfg)
