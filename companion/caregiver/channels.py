"""Where caregiver alerts go: the local outbox (always), one apprise URL per contact (ntfy, Signal,
Telegram, e-mail, Home Assistant, Pushover ...), and the family's shared e-mail (SMTP, for the
summaries' HTML with inline charts) and JSON webhook.

Every channel's send() raises ChannelError on failure and must be safe to repeat: receivers see
the alert's id and revision (webhook headers, e-mail Message-ID, apprise title) to drop repeats.
The service wraps each send in a total deadline (delivery.call_with_deadline).
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from companion.caregiver.alert import Alert, alert_text, subject_of
from companion.config import CaregiverSettings
from companion.errors import CompanionError, ConfigError
from companion.store.file import atomic_write

log = logging.getLogger(__name__)

FAMILY = ""  # Channel.contact for channels shared by the whole family (not one contact's own)


class ChannelError(CompanionError, OSError):
    """A channel could not deliver (network down, server refused ...): the alert is retried later."""


class Channel(Protocol):
    """One way of reaching the family."""

    name: str  # unique: "outbox", "email", "webhook", "contact-1" ...
    contact: str  # the contact's name for their own channel; FAMILY for shared ones; "" also for the outbox
    local: bool  # True when it does not leave the device (the outbox)

    def recipient(self) -> str:
        """Who/where this channel delivers to (for the audit log; no secrets)."""

    def send(self, alert: Alert, text: str) -> None:
        """Deliver one revision of an alert; `text` is its plain-text form."""


def _write_text(path: Path, text: str) -> None:
    """Write one outbox file whole (store.file.atomic_write), making its folder first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"), mode=0o600)


class OutboxChannel:
    """Always on: one .json and one .txt file per alert in a local folder (and .html for summaries)."""

    name = "outbox"
    contact = ""
    local = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def recipient(self) -> str:
        return str(self.directory)

    def send(self, alert: Alert, text: str) -> None:
        try:
            stem = self.directory / alert.id
            data = alert.to_dict()
            data["detail"] = {k: v for k, v in alert.detail.items() if k != "images"}
            _write_text(stem.with_suffix(".json"), json.dumps(data, ensure_ascii=False, indent=1))
            _write_text(stem.with_suffix(".txt"), text)
            html = alert.detail.get("html")
            if html:
                _write_text(stem.with_suffix(".html"), str(html))
        except OSError as exc:
            raise ChannelError(f"cannot write to the outbox {self.directory}: {exc}; check [caregiver] outbox_dir") from exc


def email_message(alert: Alert, text: str, sender: str, to: list[str]) -> EmailMessage:
    """The MIME message: plain text, and for summaries HTML with inline PNG charts (cid:) and a JSON part."""
    msg = EmailMessage()
    msg["Subject"] = subject_of(alert)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Message-ID"] = f"<{alert.id}.r{alert.revision}@companion.local>"  # lets mail clients drop a resend
    if alert.revision:
        msg["In-Reply-To"] = msg["References"] = f"<{alert.id}.r0@companion.local>"  # threads the updates
    msg["X-Companion-Alert-Id"] = alert.id
    msg["X-Companion-Revision"] = str(alert.revision)
    msg["X-Priority"] = "1" if alert.urgent else "3"
    msg.set_content(text)
    html = alert.detail.get("html")
    if html:
        msg.add_alternative(str(html), subtype="html")
        html_part = msg.get_payload()[-1]
        for cid, b64 in (alert.detail.get("images") or {}).items():
            html_part.add_related(base64.b64decode(b64), maintype="image", subtype="png", cid=f"<{cid}>",
                                  filename=f"{cid.split('@')[0]}.png", disposition="inline")
    if alert.detail.get("json"):
        msg.add_attachment(str(alert.detail["json"]).encode("utf-8"), maintype="application", subtype="json",
                           filename=f"{alert.id}.json")
    return msg


class EmailChannel:
    """The family's shared e-mail through an SMTP server (smtplib): STARTTLS or implicit TLS, optional login."""

    name = "email"
    contact = FAMILY
    local = False

    def __init__(self, settings: CaregiverSettings) -> None:
        if not settings.smtp_to:
            raise ConfigError("[caregiver] smtp_host is set but smtp_to is empty; add the caregivers' addresses")
        sender = settings.smtp_from or settings.smtp_user
        if not sender:
            raise ConfigError("[caregiver] needs smtp_from (or smtp_user) as the sender address")
        self.s = settings
        self.sender = sender

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

    def send(self, alert: Alert, text: str) -> None:
        import smtplib
        import ssl

        msg = email_message(alert, text, self.sender, list(self.s.smtp_to))
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
    """HTTP POST of the alert as JSON (agencies, home-automation hubs), or plain text with ntfy's headers."""

    name = "webhook"
    contact = FAMILY
    local = False

    def __init__(self, settings: CaregiverSettings) -> None:
        url = settings.webhook_url
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"[caregiver] webhook_url {url!r} must start with http:// or https://")
        self.s = settings
        self.headers: dict[str, str] = {}
        for line in settings.webhook_headers:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ConfigError(f'[caregiver] webhook_headers entry {line!r} must look like "Name: value"')
            self.headers[name.strip()] = value.strip()

    def recipient(self) -> str:
        return self.s.webhook_url.split("?")[0]

    def send(self, alert: Alert, text: str) -> None:
        headers = {"X-Companion-Alert-Id": alert.id, "X-Companion-Revision": str(alert.revision),
                   "Idempotency-Key": f"{alert.id}.r{alert.revision}", **self.headers}
        if self.s.webhook_format == "text":
            body = text.encode("utf-8")
            headers.update({"Content-Type": "text/plain; charset=utf-8",
                            "Title": subject_of(alert).encode("ascii", "replace").decode(),
                            "Priority": "urgent" if alert.urgent else "default"})
        else:
            data = alert.to_dict()
            data["detail"] = {k: v for k, v in alert.detail.items() if k not in ("html", "images")}
            body = json.dumps({**data, "title": subject_of(alert), "text": text}).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.s.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.s.webhook_timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"webhook {self.recipient()} answered HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise ChannelError(f"webhook {self.recipient()} unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise ChannelError(f"webhook {self.recipient()} answered HTTP {status}")


class AppriseChannel:
    """One contact's own URL through apprise: ntfy://, tgram://, signal://, mailto://, hassio://, json:// ..."""

    local = False

    def __init__(self, name: str, contact: str, url: str, timeout_s: float = 10.0) -> None:
        import apprise

        self.name = name
        self.contact = contact
        self._scheme = url.split("://", 1)[0]
        # no plugin folders from the home directory: only apprise's own, audited services
        asset = apprise.AppriseAsset(plugin_paths=[], app_id="Companion", app_desc="Companion")
        self._apprise = apprise.Apprise(asset=asset)
        sep = "&" if "?" in url else "?"
        if not self._apprise.add(url + f"{sep}cto={timeout_s:g}&rto={timeout_s:g}" if "://" in url else url):
            raise ConfigError(f"[caregiver] contact_urls: {self._scheme}://… for {contact} is not a URL apprise "
                              "understands; see https://github.com/caronc/apprise/wiki for the format of each service")

    def recipient(self) -> str:
        return f"{self.contact} via {self._scheme}://"  # never the full URL: it holds tokens

    def send(self, alert: Alert, text: str) -> None:
        import apprise

        kind = apprise.NotifyType.FAILURE if alert.urgent else (
            apprise.NotifyType.WARNING if alert.severity.value == "warning" and not alert.resolved
            else apprise.NotifyType.INFO)
        with apprise.LogCapture(level=apprise.logging.WARNING) as logs:
            ok = self._apprise.notify(body=text, title=subject_of(alert), notify_type=kind)
        if not ok:
            why = " ".join(logs.getvalue().split())[-300:] or "the service refused it"
            raise ChannelError(f"{self.recipient()} failed: {why}")


def channels_from_settings(settings: CaregiverSettings, outbox: Path) -> tuple[dict[str, Channel], list[str]]:
    """The configured channels, outbox first, and the problems of those that could not be set up.

    A bad URL or e-mail setting never stops the others (or the companion): it is skipped and named.
    """
    channels: dict[str, Channel] = {"outbox": OutboxChannel(outbox)}
    problems: list[str] = []
    makers = []
    if settings.smtp_host:
        makers.append(("email", lambda: EmailChannel(settings)))
    if settings.webhook_url:
        makers.append(("webhook", lambda: WebhookChannel(settings)))
    names = list(settings.contacts)
    if len(settings.contact_urls) > len(names):
        problems.append(f"[caregiver] contact_urls has {len(settings.contact_urls)} entries but contacts only "
                        f"{len(names)} names; give every URL a name, in the same order")
    for i, url in enumerate(settings.contact_urls[:len(names)]):
        if url.strip():
            makers.append((f"contact-{i + 1}", lambda i=i, url=url: AppriseChannel(
                f"contact-{i + 1}", names[i], url.strip(), settings.webhook_timeout_s)))
    for name, make in makers:
        try:
            channels[name] = make()
        except (ConfigError, ImportError) as exc:
            problems.append(str(exc))
            log.error("caregiver channel %s not set up: %s", name, exc)
    return channels, problems


CHANNEL_KEYS = ("contacts", "contact_urls", "smtp_host", "smtp_port", "smtp_user", "smtp_password_file", "smtp_from",
                "smtp_to", "smtp_starttls", "smtp_ssl", "webhook_url", "webhook_headers", "webhook_format")
LAST_GOOD_CHANNELS = "channels-last-good.json"


def with_last_good_channels(c: CaregiverSettings, outbox: Path, directory: Path, channels: dict[str, Channel],
                             problems: list[str]) -> tuple[dict[str, Channel], list[str]]:
    """A channel setting that cannot be used (a typo in webhook_url) falls back to the last one that worked.

    The family is still told (the problems become a "needs attention" alert), but through the
    channel they know, not only the local outbox. Without problems the current settings are saved
    as the last good ones.
    """
    import dataclasses

    path = directory / LAST_GOOD_CHANNELS
    if not problems:
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(path, json.dumps({k: getattr(c, k) for k in CHANNEL_KEYS}, default=str).encode(),
                                  mode=0o600)
        except OSError as exc:
            log.error("cannot save the working alert channels: %s", exc)
        return channels, problems
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        good, _ = channels_from_settings(dataclasses.replace(c, **{k: saved[k] for k in CHANNEL_KEYS if k in saved}),
                                         outbox)
    except (OSError, ValueError, TypeError):
        return channels, problems
    restored = [name for name in good if name not in channels]
    for name in restored:
        channels[name] = good[name]
    if restored:
        problems = [p + f" — until it is fixed, the last working setting is used for {', '.join(restored)}"
                    for p in problems]
    return channels, problems


__all__ = ["FAMILY", "AppriseChannel", "Channel", "ChannelError", "EmailChannel", "OutboxChannel",
           "WebhookChannel", "alert_text", "channels_from_settings", "email_message",
           "with_last_good_channels"]
