"""Where the companion may connect: only the caregiver channels the family configured.

The systemd units deny every IP address but this machine's (IPAddressDeny=any); `companion egress`
turns this list into the allow list (a drop-in next to each unit).
"""

from __future__ import annotations

from dataclasses import dataclass

from companion.config.sections import Settings
from companion.config.typed import Url


@dataclass(frozen=True)
class Endpoint:
    """One server a configured channel talks to."""

    host: str
    port: int
    why: str  # the config key that asks for it, e.g. "[caregiver] webhook_url"


def endpoints(settings: Settings) -> list[Endpoint]:
    """Every server the configured channels reach; empty when nothing leaves the device."""
    c = settings.caregiver
    out: list[Endpoint] = []
    if c.webhook_url:
        url = c.webhook_url if isinstance(c.webhook_url, Url) else Url.parse(str(c.webhook_url))
        out.append(Endpoint(url.host, url.port, "[caregiver] webhook_url"))
    if c.smtp_host:
        out.append(Endpoint(str(c.smtp_host), c.smtp_port, "[caregiver] smtp_host"))
    return out
