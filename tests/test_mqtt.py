"""MQTT against a real Mosquitto broker started on 127.0.0.1: Home Assistant discovery, alerts,
health, and acknowledgement from the Home Assistant button."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest
from caregiver_servers import Mosquitto

from companion.caregiver.alerts import AlertService
from companion.caregiver.mqtt import MqttBridge
from companion.clock import ManualClock
from companion.config import Settings


class Listener:
    """A paho client subscribed to everything, keeping the last payload per topic."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.messages: dict[str, list[bytes]] = {}
        self.changed = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-listener")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("#", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        with self.changed:
            self.messages.setdefault(message.topic, []).append(message.payload)
            self.changed.notify_all()

    def wait(self, predicate, timeout_s: float = 20.0) -> bool:
        """Wait for a condition on what arrived (not a timed assertion)."""
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self.messages), timeout=timeout_s)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path)
    yield b
    b.close()


def test_alerts_health_discovery_and_ack_through_a_real_broker(tmp_path, broker):
    settings = Settings().replace(caregiver={"mqtt_host": "127.0.0.1", "mqtt_port": broker.port, "contacts": ["Susan"],
                                             "home_name": "Mary's flat", "escalate_after_min": 5.0},
                                  conversation={"user_name": "Mary"}, routines={"timezone": "Europe/London"})
    clock = ManualClock(datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc))
    alerts = AlertService.from_settings(settings, tmp_path / "data", clock, owner=True)
    listener = Listener(broker.port)
    bridge = MqttBridge.from_settings(settings, alerts, health=lambda: {"listening": True, "muted": False,
                                                                         "last_interaction": "2024-05-06T08:40:00+00:00"})
    try:
        assert bridge is not None and bridge.connected.wait(20)
        base = "companion/marys-flat"
        config_topic = "homeassistant/binary_sensor/companion_marys-flat/needs_help/config"
        assert listener.wait(lambda m: config_topic in m and f"{base}/health" in m)
        config = json.loads(listener.messages[config_topic][-1])
        assert config["state_topic"] == f"{base}/needs_help" and config["device"]["name"] == "Companion (Mary's flat)"
        assert json.loads(listener.messages[f"{base}/health"][-1])["listening"] is True
        assert "homeassistant/button/companion_marys-flat/ack/config" in listener.messages
        alert_id = alerts.raise_alert("safety:fall", "Mary may have fallen")
        assert listener.wait(lambda m: m.get(f"{base}/needs_help", [b""])[-1] == b"ON")
        sent = json.loads(listener.messages[f"{base}/alert"][-1])
        assert sent["id"] == alert_id and sent["urgent"] is True and sent["where"] == "Mary's flat"
        listener.client.publish(f"{base}/ack", "latest", qos=1)  # the Home Assistant button
        assert listener.wait(lambda m: m.get(f"{base}/needs_help", [b""])[-1] == b"OFF")
        assert alerts.get(alert_id).acked_by == "Home Assistant"
        bridge.publish_event("summary", {"adherence_pct": 93})
        assert listener.wait(lambda m: f"{base}/event" in m)
    finally:
        bridge.close()
        bridge.close()
        listener.wait(lambda m: m.get("companion/marys-flat/availability", [b""])[-1] == b"offline")
        listener.close()
    assert listener.messages["companion/marys-flat/availability"][-1] == b"offline"


def test_no_broker_configured_means_no_bridge(tmp_path):
    alerts = AlertService.from_settings(Settings(), tmp_path, ManualClock(datetime(2024, 5, 6, tzinfo=timezone.utc)))
    assert MqttBridge.from_settings(Settings(), alerts) is None
