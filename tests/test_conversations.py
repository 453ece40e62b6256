"""The shipped scenario set through the real reply flow: every scenario passes its automatic checks.

`companion eval conversations tests/data/conversations.toml` prints the same run with every transcript.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from companion.cli.conversations import ScenarioError, load_scenarios, run
from companion.config import Settings

SCENARIOS = Path(__file__).parent / "data" / "conversations.toml"
RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "emotion-speech" / "ravdess"


def test_the_scenario_set_covers_every_strategy_and_several_days():
    from companion.understand.strategy import Strategy

    scenarios, _ = load_scenarios(SCENARIOS)
    assert len(scenarios) >= 150
    expected = {t.strategy for s in scenarios for t in s.turns}
    assert {s.value for s in Strategy} <= expected
    assert sum("multi-day" in s.tags for s in scenarios) >= 10


@pytest.mark.skipif(not RAVDESS.is_dir(), reason="the mood scenarios use RAVDESS clips from ../shared")
def test_every_scenario_passes_its_checks(tmp_path, models):
    out = io.StringIO()
    result = run(SCENARIOS, Settings(), components=models, json_path=str(tmp_path / "r.json"), out=out)
    failed = [s["name"] for s in result["scenarios"] if not s["passed"]]
    assert not failed, out.getvalue()[-6000:]
    assert result["strategy_accuracy"] >= 0.95
    assert json.loads((tmp_path / "r.json").read_text())["passed"] == len(result["scenarios"])


def test_a_broken_scenario_file_is_named(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[[scenario]]\nname = "x"\n[[scenario.turn]]\nsay = "hi"\nrequire = ["(unclosed"]\n')
    with pytest.raises(ScenarioError, match=r"s.toml: scenario 1 \(x\), turn 1: bad pattern"):
        load_scenarios(bad)
    bad.write_text('[[scenario]]\nname = "y"\n[[scenario.turn]]\nsay = "hi"\nafter = "soon"\n')
    with pytest.raises(ScenarioError, match="after = 'soon'"):
        load_scenarios(bad)
