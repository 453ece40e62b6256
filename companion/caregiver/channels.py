"""Where caregiver alerts go: a local outbox folder (always), e-mail over SMTP, an HTTP webhook."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from companion.clock import Household
from companion.config import CaregiverSettings
from companion.errors import CompanionError, ConfigError
from companion.store.file import atomic_write as write_file_atomically

log = logging.getLogger(__name__)


class ChannelError(CompanionError, OSError):
    """A channel could not deliver (network down, server refused ...): the alert is retried later."""


class Channel(Protocol):
    """One way of reaching the family. send() raises ChannelError on failure."""

    name: str

    def recipient(self) -> str:
        """Who/where this channel delivers to (for the audit log)."""

    def send(self, alert: dict[str, Any]) -> None:
        """Deliver one alert; must be safe to repeat with the same alert id."""


def atomic_write(path: Path, text: str) -> None:
    """Write a text file so that readers see either the old content or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path, text.encode("utf-8"), mode=0o600)


def alert_text(alert: dict[str, Any], household: Household) -> str:
    """The plain-text form of an alert (e-mail body, outbox .txt, text webhooks)."""
    detail = alert.get("detail") or {}
    if alert.get("kind") == "summary" and detail.get("text"):
        return str(detail["text"])
    at = datetime.fromisoformat(alert["at"])
    local = household.local(at)
    lines = [("URGENT: " if alert.get("urgent") else "") + alert["summary"],
             f"When: {local:%A %d %B %Y, %H:%M} ({local.tzname()})"]
    if detail.get("her_words"):
        lines.append(f'Her words: "{detail["her_words"]}"')
    extra = {k: v for k, v in detail.items() if k not in ("her_words", "text", "html")}
    if extra:
        lines.append("Details: " + "; ".join(f"{k}: {v}" for k, v in extra.items()))
    lines += ["", f"Alert id: {alert['id']} (the same id means the same event)",
              "Sent by Companion from her device. She was told that you were informed."]
    return "\n".join(lines) + "\n"


def subject_of(alert: dict[str, Any]) -> str:
    """E-mail subject / push title."""
    prefix = "[Companion] URGENT: " if alert.get("urgent") else "[Companion] "
    return prefix + str(alert["summary"])[:120]


class OutboxChannel:
    """Always on: one .json and one .txt file per alert in a local folder (and .html for summaries)."""

    name = "outbox"

    def __init__(self, directory: Path, household: Household | None = None) -> None:
        self.directory = directory
        self.household = household or Household()

    def recipient(self) -> str:
        return str(self.directory)

    def send(self, alert: dict[str, Any]) -> None:
        try:
            stem = self.directory / alert["id"]
            atomic_write(stem.with_suffix(".json"), json.dumps(alert, ensure_ascii=False, indent=1))
            atomic_write(stem.with_suffix(".txt"), alert_text(alert, self.household))
            html = (alert.get("detail") or {}).get("html")
            if html:
                atomic_write(stem.with_suffix(".html"), str(html))
        except OSError as exc:
            raise ChannelError(f"cannot write to the outbox {self.directory}: {exc}; check [caregiver] outbox_dir") from exc


class EmailChannel:
    """E-mail through an SMTP server (smtplib): STARTTLS or implicit TLS, optional login."""

    name = "email"

    def __init__(self, settings: CaregiverSettings, household: Household | None = None) -> None:
        if not settings.smtp_to:
            raise ConfigError("[caregiver] smtp_host is set but smtp_to is empty; add the caregivers' addresses")
        sender = settings.smtp_from or settings.smtp_user
        if not sender:
            raise ConfigError("[caregiver] needs smtp_from (or smtp_user) as the sender address")
        self.s = settings
        self.sender = sender
        self.household = household or Household()

    def recipient(self) -> str:
        return ", ".join(self.s.smtp_to)

    def _password(self) -> str | None:
        if not self.s.smtp_password_file:
            return None
        path = Path(self.s.smtp_password_file).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ChannelError(f"cannot read [caregiver] smtp_password_file {path}: {exc}") from exc

    def send(self, alert: dict[str, Any]) -> None:
        import smtplib
        import ssl

        msg = EmailMessage()
        msg["Subject"] = subject_of(alert)
        msg["From"] = self.sender
        msg["To"] = self.recipient()
        msg["Message-ID"] = f"<{alert['id']}@companion.local>"  # lets mail clients dedupe a resend
        msg["X-Companion-Alert-Id"] = alert["id"]
        msg.set_content(alert_text(alert, self.household))
        html = (alert.get("detail") or {}).get("html")
        if html:
            msg.add_alternative(str(html), subtype="html")
        password = self._password()
        try:
            if self.s.smtp_ssl:
                server: smtplib.SMTP = smtplib.SMTP_SSL(self.s.smtp_host, self.s.smtp_port,
                                                        timeout=self.s.smtp_timeout_s,
                                                        context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=self.s.smtp_timeout_s)
            with server:
                if self.s.smtp_starttls and not self.s.smtp_ssl:
                    server.starttls(context=ssl.create_default_context())
                if self.s.smtp_user and password is not None:
                    server.login(self.s.smtp_user, password)
                server.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"e-mail to {self.recipient()} via {self.s.smtp_host}:{self.s.smtp_port} failed: {exc}") from exc


class WebhookChannel:
    """HTTP POST: JSON (home-automation hubs) or plain text with Title/Priority headers (ntfy)."""

    name = "webhook"

    def __init__(self, settings: CaregiverSettings, household: Household | None = None) -> None:
        self.s = settings
        self.household = household or Household()
        self.headers: dict[str, str] = {}
        for line in settings.webhook_headers:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ConfigError(f'[caregiver] webhook_headers entry {line!r} must look like "Name: value"')
            self.headers[name.strip()] = value.strip()

    def recipient(self) -> str:
        return self.s.webhook_url

    def send(self, alert: dict[str, Any]) -> None:
        headers = {"X-Companion-Alert-Id": alert["id"], "Idempotency-Key": alert["id"], **self.headers}
        if self.s.webhook_format == "text":
            body = alert_text(alert, self.household).encode("utf-8")
            headers.update({"Content-Type": "text/plain; charset=utf-8",
                            "Title": subject_of(alert).encode("ascii", "replace").decode(),
                            "Priority": "urgent" if alert.get("urgent") else "default"})
        else:
            detail = {k: v for k, v in (alert.get("detail") or {}).items() if k != "html"}
            body = json.dumps({**alert, "detail": detail, "title": subject_of(alert)}).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.s.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.s.webhook_timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"webhook {self.s.webhook_url} answered HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise ChannelError(f"webhook {self.s.webhook_url} unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise ChannelError(f"webhook {self.s.webhook_url} answered HTTP {status}")


def channels_from_settings(settings: CaregiverSettings, outbox: Path,
                          household: Household | None = None) -> dict[str, Channel]:
    """The configured channels, outbox first."""
    channels: dict[str, Channel] = {"outbox": OutboxChannel(outbox, household)}
    if settings.smtp_host:
        channels["email"] = EmailChannel(settings, household)
    if settings.webhook_url:
        if not settings.webhook_url.startswith(("http://", "https://")):
            raise ConfigError(f"[caregiver] webhook_url {settings.webhook_url!r} must start with http:// or https://")
        channels["webhook"] = WebhookChannel(settings, household)
    return channels
