"""The config file: strict validation with messages a person can act on."""

from __future__ import annotations

import pytest

from companion.config import Settings, load_settings, parse_settings
from companion.errors import ConfigError


def test_no_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_settings() == Settings()


def test_a_valid_file_is_parsed_into_frozen_settings(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[wake]\nmodel = "okay_nabu"\n\n[tts]\nlength_scale = 1.3\nvolume = 1\n\n[audio]\ninput_device = 2\n')
    s = load_settings(p)
    assert s.wake.model == "okay_nabu" and s.tts.length_scale == 1.3 and s.tts.volume == 1.0
    assert s.audio.input_device == 2 and s.source == str(p)
    with pytest.raises(Exception):
        s.tts.volume = 0.5  # frozen


def test_errors_name_the_line_the_key_and_what_is_allowed():
    text = '[wake]\nmodel = "hey_siri"\nthreshhold = 0.5\n\n[tts]\nvolume = "loud"\n\n[stuff]\nx = 1\n'
    with pytest.raises(ConfigError) as exc:
        parse_settings(text, source="c.toml")
    msg = str(exc.value)
    assert "c.toml:2: [wake] model = 'hey_siri': expected one of 'hey_jarvis', 'okay_nabu', 'hey_mycroft', 'alexa'" in msg
    assert "c.toml:3: [wake] threshhold: unknown key (did you mean 'threshold'?)" in msg
    assert "c.toml:6: [tts] volume = 'loud': expected a number" in msg
    assert "c.toml:8: unknown section [stuff]" in msg


def test_broken_toml_and_missing_explicit_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_settings('[wake\nmodel = "x"', source="c.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_negative_numbers_are_refused():
    with pytest.raises(ConfigError, match=r"\[conversation\] follow_up_s: -1 is out of range: use 0 to 120"):
        parse_settings("[conversation]\nfollow_up_s = -1\n")
    with pytest.raises(ConfigError, match=r"\[llm\] seed = -1: must not be negative"):
        parse_settings("[llm]\nseed = -1\n")


def test_cli_reports_a_broken_config_clearly(tmp_path, capsys):
    from companion.cli.main import main

    p = tmp_path / "c.toml"
    p.write_text("[llm]\nmax_reply_tokens = 'many'\n")
    assert main(["--config", str(p), "doctor"]) == 2
    err = capsys.readouterr().err
    assert "[llm] max_reply_tokens = 'many': expected a whole number" in err


def test_the_running_service_keeps_the_last_good_config(tmp_path, monkeypatch):
    from companion.config import accept, config_choices, load_settings_or_last_good

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    p = tmp_path / "c.toml"
    p.write_text('[wake]\nmodel = "alexa"\n')
    good, problem = load_settings_or_last_good(p)
    assert problem is None and good.wake.model == "alexa"
    accept(config_choices(p)[0])  # the companion started with it
    p.write_text('[wake]\nmodel = "alexa"\nrefractory_s = "soon"\n')  # a bad edit
    kept, problem = load_settings_or_last_good(p)
    assert kept.wake.model == "alexa"
    assert "refractory_s" in problem and "Keeping the last good config" in problem


def test_the_example_config_lists_every_key_with_its_default():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "config.toml"
    assert load_settings(path).replace(source="") == Settings()  # regenerate: scripts/gen_config_example.py
    text = path.read_text()
    import dataclasses
    import typing

    from companion.config.sections import META_FIELDS

    for section in dataclasses.fields(Settings):
        if section.name in META_FIELDS:
            continue
        assert f"[{section.name}]" in text
        for f in dataclasses.fields(typing.get_type_hints(Settings)[section.name]):
            assert f"{f.name} =" in text, f"{section.name}.{f.name} missing from examples/config.toml"
