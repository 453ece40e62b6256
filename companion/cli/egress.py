"""`companion egress`: the firewall allow list for the service, generated from the config.

The units deny every IP address except this machine's (IPAddressDeny=any, IPAddressAllow=localhost).
This command resolves the configured caregiver servers (webhook, SMTP) and writes a drop-in per
unit that allows exactly those addresses (and the DNS servers needed to find them).
`sudo companion egress --apply` writes them and reloads systemd; setup.sh --system runs it.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from companion.config import Settings
from companion.config.endpoints import endpoints

SERVICE_UNITS = ("companion.service", "companion-summary.service", "companion-summary-weekly.service",
         "companion-failed.service")
SYSTEMD_DIR = Path("/etc/systemd/system")
DROPIN = "egress.conf"
RESOLV_CONF = Path("/etc/resolv.conf")


def add_commands(subparsers: Any) -> None:
    """Register `companion egress`."""
    p = subparsers.add_parser("egress", help="the service's network allow list: only the configured caregiver servers")
    p.add_argument("--apply", action="store_true",
                   help=f"write the drop-ins under {SYSTEMD_DIR} and reload systemd (as root)")
    p.add_argument("--write", metavar="DIR", help="write <unit>.d/egress.conf under DIR instead (for checks)")
    p.add_argument("--check", action="store_true", help="exit 1 if the installed allow list is out of date")
    p.set_defaults(func=cmd_egress)


def resolve(host: str, port: int) -> list[str]:
    """Every IPv4/IPv6 address of `host` ([] when it cannot be resolved now)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({info[4][0] for info in infos})


def dns_servers(resolv_conf: Path = RESOLV_CONF) -> list[str]:
    """The name servers the system resolver asks (loopback ones are allowed already)."""
    out = []
    try:
        lines = resolv_conf.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                addr = ipaddress.ip_address(parts[1].split("%")[0])
            except ValueError:
                continue
            if not addr.is_loopback and str(addr) not in out:
                out.append(str(addr))
    return out


def dropin(settings: Settings, *, resolver=resolve, nameservers: list[str] | None = None) -> tuple[str, list[str]]:
    """The drop-in text, and warnings (a host that cannot be resolved now)."""
    eps = endpoints(settings)
    warnings: list[str] = []
    lines = [f"# Written by `companion egress` from {settings.source or 'the defaults'} "
             f"at {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Regenerate after changing the",
             "# caregiver channels: sudo companion egress --apply (then restart the companion).",
             "# The unit denies every IP address but this machine's; these are the only exceptions."]
    allow: list[str] = []
    needs_dns = False
    for ep in eps:
        addrs = resolver(ep.host, ep.port)
        needs_dns = needs_dns or bool(addrs) and addrs != [ep.host]  # a name: its DNS server too
        lines.append(f"#   {ep.host}:{ep.port} ({ep.why}) -> {' '.join(addrs) or 'NOT RESOLVED'}")
        if not addrs:
            warnings.append(f"cannot resolve {ep.host} ({ep.why}) now: it stays blocked until you run "
                            "`sudo companion egress --apply` again with a network")
        allow += [a for a in addrs if a not in allow]
    if needs_dns:
        servers = dns_servers() if nameservers is None else nameservers
        if servers:
            lines.append(f"#   DNS servers from {RESOLV_CONF}: {' '.join(servers)}")
            allow += [s for s in servers if s not in allow]
    if not eps:
        lines.append("#   No caregiver channel is configured: nothing may leave the device.")
    lines += ["[Service]", *(f"IPAddressAllow={a}" for a in allow)]
    return "\n".join(lines) + "\n", warnings


def _body(text: str) -> list[str]:
    """The lines that matter (not the dated comments)."""
    return [line for line in text.splitlines() if line and not line.startswith("# Written by")]


def cmd_egress(args: argparse.Namespace, settings: Settings) -> int:
    """Print, write, apply or check the allow list."""
    text, warnings = dropin(settings)
    for w in warnings:
        print(f"companion: warning: {w}", file=sys.stderr)
    root = Path(args.write) if args.write else SYSTEMD_DIR
    targets = [root / f"{unit}.d" / DROPIN for unit in SERVICE_UNITS]
    if args.check:
        stale = [t for t in targets if not t.is_file() or _body(t.read_text(encoding="utf-8")) != _body(text)]
        for t in stale:
            print(f"{t}: out of date with the config; run: sudo companion egress --apply", file=sys.stderr)
        return 1 if stale else 0
    if not (args.apply or args.write):
        print(text, end="")
        return 0
    for t in targets:
        try:
            t.parent.mkdir(parents=True, exist_ok=True)
            t.write_text(text, encoding="utf-8")
        except PermissionError:
            print(f"companion: cannot write {t}: run it as root (sudo companion egress --apply)", file=sys.stderr)
            return 2
        print(f"wrote {t}")
    if args.apply and Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "daemon-reload"], check=False)
        print("systemd reloaded; the allow list applies from the next start: sudo systemctl restart companion")
    return 0
