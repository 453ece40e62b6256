"""Nothing leaves the device except to the configured channels: `companion chat` with the real models in an
isolated network namespace whose only neighbour logs every DNS query and every packet (tests/egress_sandbox.py).

Needs root and iproute2; where namespaces cannot be made the test fails and says exactly why, it never
passes without looking. The longer run (15 s of idling, printed figures) is scripts/reliability_egress.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from egress_sandbox import CHANNELS, CONFIGURED, Sandbox, chat_inside

LLM_CACHE = Path.home() / ".cache" / "companion"


@pytest.fixture()
def sandbox(tmp_path):
    why = Sandbox.unavailable()
    if why:
        pytest.fail(f"the egress test cannot run here: {why}")
    with Sandbox(tmp_path) as box:
        yield box


def _chat(box: Sandbox, tmp: Path, config: str):
    result, home = chat_inside(box, tmp, config, argv_prefix=[sys.executable, "-m", "companion"], linger_s=6.0,
                               llm_cache=LLM_CACHE)
    assert result.returncode == 0, result.stderr[-800:]
    assert "Are you hurt?" in result.stdout  # the emergency was handled (scripted, with an alert)
    assert not any("Microsoft" in str(p) for d in (home, tmp / "cache") for p in d.rglob("*"))
    return box.events()


def test_no_channel_means_not_a_single_lookup_or_packet(sandbox, tmp_path):
    assert _chat(sandbox, tmp_path, "[llm]\nmax_reply_tokens = 24\n") == []


def test_with_channels_only_their_servers_are_looked_up_and_reached(sandbox, tmp_path):
    events = _chat(sandbox, tmp_path, CHANNELS + "[llm]\nmax_reply_tokens = 24\n")
    names = {e["dns"] for e in events if "dns" in e}
    assert names <= CONFIGURED and "alerts.family.example" in names
    packets = [e for e in events if "packet" in e]
    assert all(p["dst"] == sandbox.world_ip and p["port"] in (8080, 2525) for p in packets), packets
    assert any(e.get("http") == "/mums-companion" for e in events)  # the alert really went out
