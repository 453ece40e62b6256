"""On a service install, family-facing commands run from a login shell read the service's config and
data (/etc/companion, /var/lib/companion) and say so."""

from __future__ import annotations

from companion.cli.doctor import where_from
from companion.cli.main import main
from companion.config import data_dir, load_settings, paths


def test_commands_find_the_service_config_and_data_and_say_which(tmp_path, monkeypatch, capsys):
    service_config = tmp_path / "etc" / "companion" / "config.toml"
    service_config.parent.mkdir(parents=True)
    service_config.write_text('[conversation]\nuser_name = "Mary"\n')
    service_data = tmp_path / "var" / "lib" / "companion"
    monkeypatch.setattr(paths, "SERVICE_CONFIG", service_config)
    monkeypatch.setattr(paths, "SERVICE_DATA", service_data)
    settings = load_settings()  # no --config, no $COMPANION_CONFIG, no ~/.config/companion/config.toml
    assert settings.source == str(service_config) and settings.conversation.user_name == "Mary"
    assert data_dir(settings) == service_data
    text = where_from(settings)
    assert f"Config: {service_config} (the service's" in text and f"Data: {service_data} (the service's)" in text
    assert main(["alerts", "list"]) == 0
    assert f"data: {service_data}" in capsys.readouterr().out


def test_a_users_own_config_wins(tmp_path, monkeypatch):
    service_config = tmp_path / "etc.toml"
    service_config.write_text("")
    monkeypatch.setattr(paths, "SERVICE_CONFIG", service_config)
    own = paths.user_config_path()
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text('[conversation]\nuser_name = "Ann"\n')
    settings = load_settings()
    assert settings.source == str(own) and "service" not in where_from(settings)
