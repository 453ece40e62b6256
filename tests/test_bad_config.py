"""Bad config edits never stop the companion: every one is reported with file:line and a fix, the service
starts on the last good config, and last-good-config.toml is written only once a config has started.

The whole start with a real turn for every edit is scripts/reliability_config.py; these are the fast
versions (the parse for every edit, the start for a few, with the real models loaded once).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bad_config_edits import EDITS, good_config

from companion.app import App, start_app
from companion.audio.echo import EchoPath
from companion.audio.wav import WavFileSink, WavFileSource
from companion.config import LAST_GOOD, Settings, accept, config_choices, data_dir, load_settings
from companion.config.lastgood import POINTER
from companion.errors import ConfigError

PARSED = [e for e in EDITS if not e.needs_models and e.name != "emptied file"]


@pytest.mark.parametrize("edit", PARSED, ids=[e.name for e in PARSED])
def test_every_bad_edit_names_its_line_and_the_fix(edit, tmp_path):
    good = good_config(tmp_path)
    path = tmp_path / "config.toml"
    edited = edit.apply(good, tmp_path)
    (path.write_bytes if isinstance(edited, bytes) else path.write_text)(edited)
    if edit.accepted:
        assert edit.value(load_settings(path))
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert f"{path}:{edit.line}:" in message
    assert edit.fix in message


def _build(components, tmp_path):
    """The service's App with file audio; a configured voice is really loaded (as load_components would)."""
    from companion.voice.tts import PiperTTS

    def build(settings: Settings) -> App:
        if settings.tts.voice:
            PiperTTS.load(settings.tts.voice)  # a damaged voice fails here, as at a real start
        echo = EchoPath()
        return App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
                   speaker=WavFileSink(tmp_path / "out", realtime=False, echo=echo), echo=echo,
                   components=components, start_alerts=False)
    return build


def _same(a: Settings, b: Settings) -> bool:
    return dataclasses.replace(a, source="") == dataclasses.replace(b, source="")


STARTS = [e for e in EDITS if e.name in ("webhook without https://", "time zone typo", "voice file missing",
                                         "NUL bytes after a power cut", "damaged voice file", "emptied file",
                                         "mail server but no recipients", "9pm-8am for the family")]


@pytest.mark.parametrize("edit", STARTS, ids=[e.name for e in STARTS])
def test_the_service_starts_on_the_last_good_config_and_keeps_it(edit, tmp_path, components):
    build = _build(components, tmp_path)
    path = tmp_path / "config.toml"
    good = good_config(tmp_path)
    path.write_text(good)
    app, choice, problem = start_app(config_choices(path), build)
    app.close()
    assert problem is None
    saved = data_dir(choice.settings) / LAST_GOOD
    assert saved.read_text() == good and oct(saved.stat().st_mode & 0o777) == "0o600"  # it holds the token

    edited = edit.apply(good, tmp_path)
    (path.write_bytes if isinstance(edited, bytes) else path.write_text)(edited)
    app, choice, problem = start_app(config_choices(path), build)
    try:
        assert app.engine.reply_to_text("What time is it?")  # it runs and answers
        if edit.accepted:
            assert problem is None and edit.value(app.settings)
            assert saved.read_bytes() == path.read_bytes()  # started with it: now it is the last good one
        else:
            assert _same(app.settings, load_settings_text(good, path))
            assert edit.fix in problem  # the text handed to the log and the family
            assert saved.read_text() == good  # never overwritten by the bad file
    finally:
        app.close()


def load_settings_text(text: str, path: Path) -> Settings:
    from companion.config import parse_settings

    return parse_settings(text, str(path))


def test_without_a_last_good_config_the_good_keys_are_used_and_her_data_stays_put(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[memory]\ndata_dir = "{tmp_path / "her-data"}"\n[wake]\nmodel = "alexa"\n'
                    '[caregiver]\nwebhook_url = "ntfy.sh/mum"\n')
    choices = config_choices(path)
    first = choices[0]
    assert first.settings.wake.model == "alexa" and first.settings.caregiver.webhook_url is None
    assert "Using the rest of the file" in first.problem and ":6: [caregiver] webhook_url" in first.problem
    # even the last resort keeps her data folder: never an empty store by surprise
    assert all(c.settings.memory.data_dir == tmp_path / "her-data" for c in choices)


def test_an_emptied_config_is_damage_and_the_last_good_one_is_found_through_the_pointer(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[memory]\ndata_dir = "{tmp_path / "her-data"}"\n[wake]\nmodel = "alexa"\n')
    accept(config_choices(path)[0])
    assert (data_dir(Settings()) / POINTER).read_text() == str(tmp_path / "her-data")
    path.write_text("")  # a sync tool emptied it: the file cannot say where her data is any more
    first = config_choices(path)[0]
    assert first.settings.wake.model == "alexa" and first.settings.memory.data_dir == tmp_path / "her-data"
    assert "looks emptied" in first.problem
    path.write_text("# defaults on purpose\n")
    assert config_choices(path)[0].problem is None  # a comment says it is meant


def test_a_config_that_cannot_start_falls_back_and_is_never_saved(tmp_path, components):
    build = _build(components, tmp_path)
    path = tmp_path / "config.toml"
    path.write_text(good_config(tmp_path))
    start_app(config_choices(path), build)[0].close()
    saved_before = (tmp_path / "data" / LAST_GOOD).read_text()
    broken = next(e for e in EDITS if e.name == "damaged voice file")
    path.write_text(broken.apply(path.read_text(), tmp_path))
    load_settings(path)  # it parses: only loading the voice shows the damage
    app, choice, problem = start_app(config_choices(path), build)
    app.close()
    assert "The companion could not start with the config file" in problem and "cannot load the Piper voice" in problem
    assert choice.label.startswith("the last good config")
    assert (tmp_path / "data" / LAST_GOOD).read_text() == saved_before


def test_one_shot_commands_say_it_in_lines_and_exit_2(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(good_config(tmp_path).replace('"https://ntfy.example.org/', '"ntfy.example.org/'))
    done = subprocess.run([sys.executable, "-m", "companion", "--config", str(path), "alerts", "list"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{path}:13: [caregiver] webhook_url: 'ntfy.example.org/mums-companion-7f3a' is not a web address: " \
           'it needs https:// in front, like "https://ntfy.example.org/mums-companion-7f3a"' in done.stderr


def test_run_input_given_a_folder_is_one_line(tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "a.wav").write_bytes(b"RIFF")
    done = subprocess.run([sys.executable, "-m", "companion", "run", "--input", str(folder), "--output-dir",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")})
    assert done.returncode == 2
    assert done.stderr.strip() == (f"companion: --input {folder} is a folder; give the WAV files themselves, one "
                                   f"--input each (it holds 1: --input {folder / 'a.wav'} ...)")


def test_a_new_data_folder_that_cannot_be_used_falls_back_to_where_her_data_is(tmp_path, components):
    build = _build(components, tmp_path)
    path = tmp_path / "config.toml"
    good = good_config(tmp_path)
    path.write_text(good)
    start_app(config_choices(path), build)[0].close()
    other = tmp_path / "usb-stick"
    other.mkdir()
    os.chown(other, 65534, 65534)  # someone else's folder (root can do this): it parses, but cannot be used
    path.write_text(good.replace(f'data_dir = "{tmp_path / "data"}"', f'data_dir = "{other}"'))
    app, choice, problem = start_app(config_choices(path), build)
    app.close()
    assert app.settings.memory.data_dir == tmp_path / "data"  # her data is still where it was
    assert "could not start with the config file" in problem and "belongs to" in problem
