"""An isolated network for watching what the companion sends: two network namespaces joined by a veth.

"device" (10.213.x.2) is where the companion runs; its only route leads to "world" (10.213.x.1), which
has no other link, so nothing can leave the machine. In "world" one helper process (this file, run as a
script) answers DNS on port 53 and logs every query name, logs every other IP packet that arrives
from the device (raw AF_PACKET socket), and accepts webhook POSTs on port 8080. Configured host names
resolve to the world address, so a configured webhook is really delivered.

Needs root and iproute2 (`ip netns`). `Sandbox.unavailable()` says exactly why it cannot run here.
Shared by tests/test_egress.py and scripts/reliability_egress.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

WORLD_PORT_HTTP = 8080


class Sandbox:
    """Create the namespaces (context manager); `run()` a command in "device"; read the world's log."""

    def __init__(self, tmp: Path) -> None:
        tag = f"{os.getpid() % 100000}"
        self.device, self.world = f"cmpdev{tag}", f"cmpwld{tag}"
        octet = 100 + os.getpid() % 150
        self.world_ip, self.device_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
        self.tmp = tmp
        self.log = tmp / "world.jsonl"
        self._helper: subprocess.Popen | None = None

    @staticmethod
    def unavailable() -> str | None:
        """Why network namespaces cannot be used here (None: they can)."""
        if os.geteuid() != 0:
            return "needs root to create network namespaces (ip netns add); run the tests as root"
        if shutil.which("ip") is None:
            return "iproute2 is not installed (apt-get install iproute2)"
        probe = f"cmpprobe{os.getpid() % 100000}"
        done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        if done.returncode != 0:
            return f"`ip netns add` failed here: {done.stderr.strip()}"
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
        return None

    def _ip(self, *args: str, ns: str | None = None) -> None:
        cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")

    def __enter__(self) -> "Sandbox":
        veth_d, veth_w = f"vd{self.device[6:]}", f"vw{self.device[6:]}"
        self._ip("ip", "netns", "add", self.device)
        self._ip("ip", "netns", "add", self.world)
        self._ip("ip", "link", "add", veth_d, "netns", self.device, "type", "veth", "peer", "name", veth_w,
                 "netns", self.world)
        for ns, veth, addr in ((self.device, veth_d, self.device_ip), (self.world, veth_w, self.world_ip)):
            self._ip("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)  # no kernel IPv6 chatter
            self._ip("ip", "addr", "add", f"{addr}/30", "dev", veth, ns=ns)
            self._ip("ip", "link", "set", veth, "up", ns=ns)
            self._ip("ip", "link", "set", "lo", "up", ns=ns)
        self._ip("ip", "route", "add", "default", "via", self.world_ip, ns=self.device)  # every packet is seen
        etc = Path("/etc/netns") / self.device
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(f"nameserver {self.world_ip}\noptions timeout:1 attempts:1\n")
        self._helper = subprocess.Popen(["ip", "netns", "exec", self.world, sys.executable, __file__,
                                         self.world_ip, veth_w, str(self.log)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not (self.log.exists() and "ready" in self.log.read_text()):
            if self._helper.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the world helper did not start: {self._helper.stderr.read().decode()[-300:]}")
            time.sleep(0.05)
        return self

    def run(self, argv: list[str], *, env: dict[str, str], stdin_lines: list[str], linger_s: float,
            timeout_s: float = 600) -> subprocess.CompletedProcess:
        """Run argv in "device", feed it lines, keep stdin open `linger_s` more seconds (periodic telemetry)."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.device, *argv], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        for line in stdin_lines:
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
        time.sleep(linger_s)
        out, err = proc.communicate(timeout=timeout_s)
        return subprocess.CompletedProcess(argv, proc.returncode, out.decode(errors="replace"),
                                           err.decode(errors="replace"))

    def events(self) -> list[dict]:
        """What the world saw: {"dns": name, "type": ...}, {"packet": proto, "dst": ..., "port": ...}, {"http": path}."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def __exit__(self, *exc: object) -> None:
        if self._helper is not None:
            self._helper.terminate()
            try:
                self._helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._helper.kill()
        for ns in (self.device, self.world):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(Path("/etc/netns") / self.device, ignore_errors=True)


# ---------------------------------------------------------------- a chat inside the sandbox

CHANNELS = """[caregiver]
contacts = ["Susan"]
webhook_url = "http://alerts.family.example:8080/mums-companion"
smtp_host = "smtp.family.example"
smtp_port = 2525
smtp_to = ["susan@family.example"]
smtp_from = "mum.companion@family.example"
"""
CONFIGURED = {"alerts.family.example", "smtp.family.example"}
LINES = ["hello there", "what time is it?", "help, I fell and I can't get up"]


def chat_inside(sandbox: Sandbox, tmp: Path, config: str, *, argv_prefix: list[str], linger_s: float,
                llm_cache: Path | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    """`companion chat` in the device namespace with its own home; returns the result and that home."""
    home = tmp / "home"
    cache = tmp / "cache"
    (cache / "companion").mkdir(parents=True, exist_ok=True)
    if llm_cache is not None:  # the assembled offline LLM, so it is not rebuilt for every run
        for model in llm_cache.glob("*.gguf"):
            link = cache / "companion" / model.name
            if not link.exists():
                link.symlink_to(model)
    cfg = tmp / "config.toml"
    cfg.write_text(config)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "XDG_CACHE_HOME": str(cache),
           "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"), "LANG": "C.UTF-8"}
    if "COMPANION_MODELS" in os.environ:
        env["COMPANION_MODELS"] = os.environ["COMPANION_MODELS"]
    result = sandbox.run([*argv_prefix, "--config", str(cfg), "chat"], env=env, stdin_lines=LINES,
                         linger_s=linger_s)
    return result, home


# ---------------------------------------------------------------- the world helper (runs inside "world")


def _dns_name(packet: bytes, offset: int = 12) -> tuple[str, int]:
    labels = []
    while packet[offset]:
        n = packet[offset]
        labels.append(packet[offset + 1: offset + 1 + n].decode("ascii", "replace"))
        offset += 1 + n
    return ".".join(labels), offset + 1


def _serve_dns(ip: str, write) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, 53))
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            name, end = _dns_name(data)
            qtype = struct.unpack("!H", data[end:end + 2])[0]
        except (IndexError, struct.error):
            continue
        write({"dns": name.lower(), "type": {1: "A", 28: "AAAA", 12: "PTR"}.get(qtype, str(qtype))})
        question = data[12:end + 4]
        if qtype == 1:  # every name resolves to the world: a configured webhook is really delivered
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) + socket.inet_aton(ip)
            reply = data[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0) + question + answer
        else:
            reply = data[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 0, 0, 0) + question
        sock.sendto(reply, peer)


def _watch_packets(iface: str, own_ip: str, write) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    sock.bind((iface, 0))
    while True:
        frame = sock.recv(65535)
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue  # not IPv4 (ARP and the like)
        ihl = (frame[14] & 0x0F) * 4
        proto, src, dst = frame[23], socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34])
        if src == own_ip:
            continue  # our own replies
        port = struct.unpack("!H", frame[14 + ihl + 2: 14 + ihl + 4])[0] if proto in (6, 17) else None
        if dst == own_ip and port in (53, WORLD_PORT_HTTP):
            continue  # DNS and the webhook are logged by their servers
        write({"packet": {6: "tcp", 17: "udp", 1: "icmp"}.get(proto, str(proto)), "dst": dst, "port": port})


def _serve_http(ip: str, write) -> None:
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            write({"http": self.path, "host": self.headers.get("Host", "")})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer((ip, WORLD_PORT_HTTP), Handler).serve_forever()


def _world(ip: str, iface: str, log_path: str) -> None:
    lock = threading.Lock()
    log = open(log_path, "a", encoding="utf-8")

    def write(event: dict) -> None:
        with lock:
            log.write(json.dumps(event) + "\n")
            log.flush()

    for target, args in ((_serve_dns, (ip, write)), (_watch_packets, (iface, ip, write)), (_serve_http, (ip, write))):
        threading.Thread(target=target, args=args, daemon=True).start()
    time.sleep(0.3)
    log.write("ready\n")
    log.flush()
    threading.Event().wait()


if __name__ == "__main__":
    _world(sys.argv[1], sys.argv[2], sys.argv[3])
