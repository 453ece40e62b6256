"""Checks that need more than one key: a half-set-up e-mail channel, pins used twice, a day that ends
before it starts. Problems stop the file from being used (the keys they name fall back); notes are
said, and the file is used."""

from __future__ import annotations

import ipaddress
import stat
from dataclasses import dataclass

from companion.config.sections import Settings


@dataclass(frozen=True)
class Finding:
    """One cross-key finding: where to point (section, key), the keys to drop, and what to say."""

    section: str
    key: str  # the line to point at
    message: str
    drop: tuple[str, ...] = ()  # keys that fall back to their default when the file is used leniently
    note: bool = False  # True: worth saying, but the file is fine


def findings(s: Settings, given: dict[str, set[str]]) -> list[Finding]:
    """Every cross-key problem and note; `given` = the keys each section wrote in the file."""
    out: list[Finding] = []
    c = s.caregiver
    mail = ("smtp_host", "smtp_to", "smtp_from", "smtp_user")
    if c.smtp_host and not c.smtp_to:
        out.append(Finding("caregiver", "smtp_host", f"smtp_host = {c.smtp_host!r} but smtp_to is empty: add the "
                           'caregivers\' addresses, like smtp_to = ["susan@example.org"]', mail))
    if c.smtp_host and not (c.smtp_from or "@" in c.smtp_user):
        out.append(Finding("caregiver", "smtp_host", 'e-mail needs a sender address: add smtp_from = '
                           '"mum.companion@example.org" (or an smtp_user that is an address)', mail))
    if c.smtp_to and not c.smtp_host:
        out.append(Finding("caregiver", "smtp_to", "smtp_to is set but smtp_host is empty, so no e-mail can be sent: "
                           'add your mail server, like smtp_host = "smtp.example.org"', mail))
    if c.smtp_host and c.smtp_ssl and c.smtp_port == 587:
        out.append(Finding("caregiver", "smtp_ssl", "smtp_ssl = true with smtp_port = 587 cannot connect: port 587 "
                           "uses STARTTLS; write smtp_ssl = false (or smtp_port = 465)", ("smtp_ssl", "smtp_port")))
    if c.smtp_host and not c.smtp_ssl and c.smtp_port == 465:
        out.append(Finding("caregiver", "smtp_port", "smtp_port = 465 expects smtp_ssl = true (implicit TLS); add "
                           "smtp_ssl = true, or use smtp_port = 587", ("smtp_ssl", "smtp_port")))
    if c.webhook_headers and not c.webhook_url:
        out.append(Finding("caregiver", "webhook_headers", "webhook_headers are set but webhook_url is empty, so "
                           "nothing uses them", note=True))
    if c.webhook_url and c.webhook_url.scheme == "http" and not _local(c.webhook_url.host):
        out.append(Finding("caregiver", "webhook_url", f"{c.webhook_url!r} is http://: alerts about her would cross "
                           "the internet unencrypted; use https:// if the server offers it", note=True))
    if c.daytime_start_hour >= c.daytime_end_hour:
        out.append(Finding("caregiver", "daytime_start_hour", f"the day starts at {c.daytime_start_hour}:00 but ends "
                           f"at {c.daytime_end_hour}:00: the start must be earlier (like 8 and 21)",
                           ("daytime_start_hour", "daytime_end_hour")))
    if c.retry_initial_s > c.retry_max_s:
        out.append(Finding("caregiver", "retry_initial_s", f"retry_initial_s = {c.retry_initial_s:g} is longer than "
                           f"retry_max_s = {c.retry_max_s:g}; make the first wait the shorter one",
                           ("retry_initial_s", "retry_max_s")))
    if c.smtp_password_file and c.smtp_password_file.is_file():
        mode = stat.S_IMODE(c.smtp_password_file.stat().st_mode)
        if mode & 0o077:
            out.append(Finding("caregiver", "smtp_password_file", f"{str(c.smtp_password_file)!r} can be read by other "
                               f"users (mode {mode:04o}); run: chmod 600 {c.smtp_password_file}", note=True))
    out += _pins(s, given.get("gpio", set()))
    llm = s.llm
    if llm.max_reply_tokens * 2 > llm.context_tokens:
        out.append(Finding("llm", "max_reply_tokens", f"max_reply_tokens = {llm.max_reply_tokens} leaves too little of "
                           f"context_tokens = {llm.context_tokens} for what she said; keep it under half",
                           ("max_reply_tokens", "context_tokens")))
    r = s.routines
    if r.quiet_from == r.quiet_until and ({"quiet_from", "quiet_until"} & given.get("routines", set())):
        out.append(Finding("routines", "quiet_from", f"quiet_from and quiet_until are both {r.quiet_from:%H:%M}, "
                           "which means no quiet hours at all (reminders may speak at night)", note=True))
    if r.file is not None and r.file.parent.is_dir() and not r.file.exists():
        out.append(Finding("routines", "file", f"'{r.file}' does not exist yet; no routines until it does "
                           "(copy examples/routines.toml there)", note=True))
    if s.wake.speaking_threshold < s.wake.threshold:
        out.append(Finding("wake", "speaking_threshold", "speaking_threshold is lower than threshold, so its own "
                           "voice may wake it while it speaks; make it the higher one", note=True))
    return out


def _pins(s: Settings, given: set[str]) -> list[Finding]:
    g = s.gpio
    if not g.enabled:
        return []
    used = {"talk_pin": g.talk_pin, "help_pin": g.help_pin, "mute_pin": g.mute_pin}
    if g.led_kind == "pwm":
        used.update(status_led_pin=g.status_led_pin, mute_led_pin=g.mute_led_pin)
    else:
        used.update({f"rgb_pins[{i}]": p for i, p in enumerate(g.rgb_pins)})
    if g.mood_led_pin is not None:
        used["mood_led_pin"] = g.mood_led_pin
    out = []
    if g.led_kind == "rgb" and len(g.rgb_pins) != 3:
        out.append(Finding("gpio", "rgb_pins", f"rgb_pins needs three pins (red, green, blue), not {len(g.rgb_pins)}",
                           ("rgb_pins", "led_kind")))
    seen: dict[int, str] = {}
    for key, pin in used.items():
        if pin in seen:
            point = key if key.split("[")[0] in given else seen[pin]
            out.append(Finding("gpio", point.split("[")[0], f"GPIO{pin} is used twice ({seen[pin]} and {key}); "
                               "each button and LED needs its own pin", (key.split("[")[0], seen[pin].split("[")[0])))
        seen.setdefault(pin, key)
    return out


def _local(host: str) -> bool:
    if host in ("localhost",) or host.endswith((".local", ".lan", ".home.arpa")):
        return True
    try:
        return ipaddress.ip_address(host).is_private or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
