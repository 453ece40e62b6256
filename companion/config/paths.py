"""Where things live: the config file, her data, the downloaded models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.config.sections import Settings

def default_config_path() -> Path:
    """$COMPANION_CONFIG, else ~/.config/companion/config.toml (XDG)."""
    env = os.environ.get("COMPANION_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "companion" / "config.toml"


def data_dir(settings: Settings) -> Path:
    """Where the store and state live: config, $STATE_DIRECTORY (systemd), or XDG data dir."""
    if settings.memory.data_dir:
        return Path(settings.memory.data_dir).expanduser()
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if state:
        return Path(state.split(":")[0])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "companion"


def models_dir() -> Path:
    """Where setup.sh puts downloaded models: $COMPANION_MODELS or the data dir's models/."""
    env = os.environ.get("COMPANION_MODELS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "companion" / "models"
