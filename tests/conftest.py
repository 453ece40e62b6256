"""Shared fixtures: the real offline models, loaded once per test session."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Never touch the developer's real config, data or model directories."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("COMPANION_MODELS", str(home / "models"))
    monkeypatch.delenv("COMPANION_CONFIG", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    # the assembled LLM is cached outside the per-test home so it is built once
    monkeypatch.setenv("XDG_CACHE_HOME", os.environ.get("COMPANION_TEST_CACHE", str(Path.home() / ".cache")))


@pytest.fixture(scope="session")
def models():
    """wake word, VAD, PocketSphinx, gemma3-270m and the Piper voice: the offline defaults."""
    from companion.app import load_components
    from companion.audio.echo import EchoPath
    from companion.config import Settings

    return load_components(Settings(), EchoPath())


@pytest.fixture(scope="session")
def understanding():
    """The shared understanding layer (sentence encoder) alone, for tests that need no other model."""
    from companion.understand.reading import Understanding

    return Understanding.load()


@pytest.fixture()
def components(models):
    """Session models with a fresh wake word detector (its refractory state is per test)."""
    from companion.ears.wake import WakeWordDetector

    return dataclasses.replace(models, wake=WakeWordDetector(models.wake.settings, models.double_talk))


@pytest.fixture(scope="session")
def tts(models):
    return models.tts


@pytest.fixture()
def settings(tmp_path):
    """Defaults with the data directory in tmp_path."""
    from companion.config import Settings

    return Settings().replace(memory={"data_dir": str(tmp_path / "data")})


@pytest.fixture()
def clock():
    from companion.clock import ManualClock

    return ManualClock(datetime(2026, 11, 21, 10, 15, tzinfo=timezone.utc))
