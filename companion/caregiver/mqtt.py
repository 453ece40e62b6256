"""MQTT for Home Assistant and care agencies: wellbeing events, alerts and device health published
to the family's or agency's broker, with Home Assistant discovery, and acknowledgement back.

Topics, for `[caregiver] mqtt_topic = "companion"` and device id `mary-flat`:
- `companion/mary-flat/availability`  "online" / "offline" (retained; the broker's will says offline)
- `companion/mary-flat/health`        JSON: listening, muted, clock synchronised, last interaction,
                                      deliveries waiting, last alert (retained)
- `companion/mary-flat/alert`         JSON of every alert and revision (id, revision, severity, title ...)
- `companion/mary-flat/needs_help`    "ON" while an urgent alert is open and unacknowledged (retained)
- `companion/mary-flat/event`         wellbeing events (a summary's figures, a missed dose, a check-in)
- `companion/mary-flat/ack`           publish an alert id (or "latest") here to acknowledge it
Home Assistant finds a device with those entities under `homeassistant/.../companion_mary-flat/...`.
An agency subscribes to `companion/+/alert` and sees every home at once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from companion.caregiver.alert import Alert

if TYPE_CHECKING:
    from companion.caregiver.alerts import AlertService

log = logging.getLogger(__name__)


def device_id(name: str) -> str:
    """A topic-safe id from the home/device name ('Mary's flat' -> 'marys-flat')."""
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"['’]", "", name.lower())).strip("-") or "companion"


class MqttBridge:
    """Publishes to an MQTT broker and listens for acknowledgements; close() disconnects."""

    def __init__(self, alerts: "AlertService", *, host: str, port: int = 1883, topic: str = "companion",
                 device: str = "companion", name: str = "Companion", discovery_prefix: str = "homeassistant",
                 user: str = "", password_file: str = "", tls: bool = False,
                 health: Callable[[], dict[str, Any]] | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.alerts = alerts
        self.base = f"{topic.strip('/')}/{device}"
        self.device, self.name, self.discovery = device, name, discovery_prefix.strip("/")
        self.health = health or (lambda: {})
        self.connected = threading.Event()
        self._sent: list[Any] = []
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"companion-{device}",
                                   clean_session=True)
        if user:
            password = Path(password_file).expanduser().read_text().strip() if password_file else None
            self._client.username_pw_set(user, password)
        if tls:
            self._client.tls_set()
        self._client.will_set(f"{self.base}/availability", "offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 60)
        self._client.connect_async(host, port, keepalive=60)
        self._client.loop_start()
        alerts.add_listener(self.publish_alert)

    @classmethod
    def from_settings(cls, settings: Any, alerts: "AlertService",
                      health: Callable[[], dict[str, Any]] | None = None) -> "MqttBridge | None":
        """None when no broker is configured."""
        c = settings.caregiver
        if not c.mqtt_host:
            return None
        name = c.home_name or c.device_name or alerts.where
        return cls(alerts, host=c.mqtt_host, port=c.mqtt_port, topic=c.mqtt_topic, device=device_id(name),
                   name=f"Companion ({name})", discovery_prefix=c.mqtt_discovery_prefix, user=c.mqtt_user,
                   password_file=c.mqtt_password_file, tls=c.mqtt_tls, health=health)

    # ---------------------------------------------------------------- paho callbacks (its thread)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT broker refused the connection: %s", reason)
            return
        client.subscribe(f"{self.base}/ack", qos=1)
        client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
        if self.discovery:
            for kind, key, config in self._discovery():
                client.publish(f"{self.discovery}/{kind}/companion_{self.device}/{key}/config",
                               json.dumps(config), qos=1, retain=True)
        self.connected.set()
        self.publish_health()
        self._publish_needs_help()
        log.info("MQTT connected; publishing under %s", self.base)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        ref = message.payload.decode("utf-8", "replace").strip()
        try:
            if ref in ("", "latest", "PRESS"):
                urgent = [a for a in self.alerts.open_alerts() if a.severity.value == "urgent" and not a.acked_by]
                if not urgent:
                    return
                ref = urgent[-1].id
            if self.alerts.acknowledge(ref, by="Home Assistant", via="mqtt") is None:
                log.warning("MQTT ack for unknown alert %r", ref)
        except Exception:
            log.exception("MQTT acknowledgement failed")

    # ---------------------------------------------------------------- publishing (any thread)

    def _discovery(self) -> list[tuple[str, str, dict[str, Any]]]:
        dev = {"identifiers": [f"companion_{self.device}"], "name": self.name, "manufacturer": "Companion",
               "model": "voice companion"}
        common = {"availability_topic": f"{self.base}/availability", "device": dev}
        uid = f"companion_{self.device}"
        return [
            ("binary_sensor", "needs_help", {**common, "name": "Needs help", "unique_id": f"{uid}_needs_help",
                                             "state_topic": f"{self.base}/needs_help", "device_class": "problem"}),
            ("sensor", "last_alert", {**common, "name": "Last alert", "unique_id": f"{uid}_last_alert",
                                      "state_topic": f"{self.base}/alert", "value_template": "{{ value_json.title }}",
                                      "json_attributes_topic": f"{self.base}/alert"}),
            ("sensor", "last_interaction", {**common, "name": "Last talked", "unique_id": f"{uid}_last_interaction",
                                            "state_topic": f"{self.base}/health", "device_class": "timestamp",
                                            "value_template": "{{ value_json.last_interaction }}"}),
            ("binary_sensor", "listening", {**common, "name": "Listening", "unique_id": f"{uid}_listening",
                                            "state_topic": f"{self.base}/health", "payload_on": True,
                                            "payload_off": False, "value_template": "{{ value_json.listening }}"}),
            ("button", "ack", {**common, "name": "Acknowledge alert", "unique_id": f"{uid}_ack",
                               "command_topic": f"{self.base}/ack", "payload_press": "latest"}),
        ]

    def publish_alert(self, alert: Alert) -> None:
        """Every alert and revision (the AlertService calls this); QoS 1, queued while offline."""
        data = alert.to_dict()
        data["detail"] = {k: v for k, v in alert.detail.items() if k not in ("html", "images", "text", "json")}
        self._track(self._client.publish(f"{self.base}/alert", json.dumps(data), qos=1))
        self._publish_needs_help()

    def _publish_needs_help(self) -> None:
        urgent = any(a.urgent for a in self.alerts.open_alerts())
        self._client.publish(f"{self.base}/needs_help", "ON" if urgent else "OFF", qos=1, retain=True)

    def publish_health(self) -> None:
        """Device health (retained), e.g. once a minute from the alert service's checks."""
        try:
            health = dict(self.health())
        except Exception:
            log.exception("health callback failed")
            health = {}
        health.setdefault("pending_deliveries", len(self.alerts.pending()))
        self._client.publish(f"{self.base}/health", json.dumps(health, default=str), qos=1, retain=True)

    def publish_event(self, kind: str, payload: dict[str, Any]) -> None:
        """A wellbeing event (summary figures, a missed dose, a check-in answered)."""
        self._track(self._client.publish(f"{self.base}/event", json.dumps({"kind": kind, **payload}, default=str),
                                         qos=1))

    def _track(self, info: Any) -> None:
        def pending(i: Any) -> bool:
            try:
                return not i.is_published()
            except (RuntimeError, ValueError):  # published while not connected: paho does not track it
                return False
        self._sent = [i for i in self._sent if pending(i)][-200:] + [info]

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait (a short-lived command) until connected and everything published so far reached the broker."""
        if not self.connected.wait(timeout_s):
            return False
        ok = True
        for info in list(self._sent):
            try:
                info.wait_for_publish(timeout_s)
                ok = ok and info.is_published()
            except (RuntimeError, ValueError):
                ok = False
        return ok

    def close(self) -> None:
        """Say offline and disconnect; safe to call twice."""
        if self._client is None:
            return
        try:
            self._client.publish(f"{self.base}/availability", "offline", qos=1, retain=True).wait_for_publish(2)
        except Exception:
            pass
        self._client.disconnect()
        self._client.loop_stop()
        self._client = None  # type: ignore[assignment]
