"""A bad value never takes the companion down: a typo in the timezone or the webhook_url leaves it
running on the last good settings, and the family gets a "needs attention" alert (real models, a
real webhook receiver on 127.0.0.1)."""

from __future__ import annotations

from datetime import datetime, timezone

from caregiver_servers import Hook

from companion.app import run_files
from companion.audio.wav import write_wav
from companion.clock import ManualClock
from companion.config import load_settings_or_last_good
from companion.voice.spoken import utterance

GOOD = """[conversation]
user_name = "Mary"

[routines]
timezone = "{zone}"

[caregiver]
contacts = ["Susan"]
webhook_url = "{url}"
"""


def _start(tmp_path, config_text: str, components, tts, hook: Hook):
    """What `companion run` does: load (or fall back), start, hear one question."""
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    settings, problem = load_settings_or_last_good(config)
    wav = tmp_path / "q.wav"
    write_wav(wav, utterance(tts, ["What time is it?"]), 16000)
    clock = ManualClock(datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc))
    turns, _ = run_files(settings, [wav], tmp_path / "out", realtime=False, components=components, clock=clock,
                         config_problem=problem)
    return settings, problem, turns


def test_bad_timezone_or_webhook_url_keeps_it_running_and_tells_the_family(tmp_path, components, tts, monkeypatch):
    # the default data dir (no [memory] data_dir): where the last good config is looked for after a bad edit
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    hook = Hook()
    try:
        url = hook.url("/family")
        # a first, good start: the config and the working channels are remembered
        settings, problem, turns = _start(tmp_path, GOOD.format(zone="Europe/London", url=url),
                                          components, tts, hook)
        assert problem is None and [t.intent for t in turns] == ["time"]

        # a typo in the time zone: the last good config is used, the companion answers, Susan is told
        settings, problem, turns = _start(tmp_path, GOOD.format(zone="Europe/Londn", url=url),
                                          components, tts, hook)
        assert problem and "Europe/Londn" in problem and "did you mean" in problem
        assert settings.routines.timezone.key == "Europe/London"
        assert [t.intent for t in turns] == ["time"]  # still running, still answering
        assert hook.wait_for(1)
        [alert] = [b for b in hook.json_bodies() if b["kind"] == "companion_failure"]
        assert alert["severity"] == "warning" and alert["title"].startswith("[Companion] Needs attention:")
        assert "Europe/Londn" in alert["text"] and alert["who"] == "Mary"

        # a typo in the webhook URL: the last working URL is used to say so
        count = len(hook.requests)
        settings, problem, turns = _start(tmp_path, GOOD.format(zone="Europe/London",
                                                                url=url.replace("http://", "htp://")),
                                          components, tts, hook)
        assert [t.intent for t in turns] == ["time"]
        assert hook.wait_for(count + 1)
        texts = [b["text"] for b in hook.json_bodies()[count:] if b["kind"] == "companion_failure"]
        assert texts and "webhook_url" in texts[0] and "last working setting" in texts[0]
    finally:
        hook.close()
