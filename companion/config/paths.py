"""Where things live: the config file, her data, the downloaded models."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from companion.config.sections import Settings

# Where `sudo ./setup.sh --system` puts the service's config and data.
SERVICE_CONFIG = Path("/etc/companion/config.toml")
SERVICE_DATA = Path("/var/lib/companion")


def user_config_path() -> Path:
    """~/.config/companion/config.toml (XDG)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "companion" / "config.toml"


def default_config_path() -> Path:
    """$COMPANION_CONFIG, else the user's config, else (a service install) /etc/companion/config.toml.

    So `companion doctor`, `summary` or `alerts` run by `pi` on a service install read the
    service's config (and, through data_dir, its data) instead of an empty default.
    """
    env = os.environ.get("COMPANION_CONFIG")
    if env:
        return Path(env)
    user = user_config_path()
    if not user.exists() and SERVICE_CONFIG.exists():
        return SERVICE_CONFIG
    return user


def is_service_config(source: str) -> bool:
    """Did these settings come from the service's config file?"""
    try:
        return bool(source) and Path(source).resolve() == SERVICE_CONFIG.resolve()
    except OSError:
        return False


def data_dir(settings: Settings) -> Path:
    """Where the store and state live: config, $STATE_DIRECTORY (systemd), the service's data dir when
    the service's config is in use, or the XDG data dir."""
    if settings.memory.data_dir:
        return Path(settings.memory.data_dir).expanduser()
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if state:
        return Path(state.split(":")[0])
    if is_service_config(settings.source):  # a command run by hand on a service install
        return SERVICE_DATA
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "companion"


def models_dir() -> Path:
    """Where setup.sh puts downloaded models: $COMPANION_MODELS or the data dir's models/."""
    env = os.environ.get("COMPANION_MODELS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "companion" / "models"
