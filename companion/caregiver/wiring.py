"""Everything the running companion needs for the family, built and started together: the alert
service (owner: it escalates), the device's running record, the inactivity watch and quote-consent
skills, the daily heartbeat, MQTT, and the acknowledgement-link listener. app.py only wires this in."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from companion.caregiver.acks import AckListener
from companion.caregiver.alerts import AlertService
from companion.caregiver.consent import QuoteConsentSkill
from companion.caregiver.heartbeat import Heartbeat
from companion.caregiver.inactivity import InactivityWatch
from companion.caregiver.mqtt import MqttBridge
from companion.caregiver.presence import ClockSync, Presence
from companion.clock import Clock
from companion.config import Settings

log = logging.getLogger(__name__)


class Caregiving:
    """Built from settings; `start()` begins delivery and the minute checks; `close()` stops all."""

    def __init__(self, settings: Settings, data_dir: Path, store: Any, clock: Clock, *,
                 listening: Callable[[], bool] = lambda: True, clock_sync: ClockSync | None = None) -> None:
        self.settings = settings
        self.extra_checks: tuple[Callable[[datetime], Any], ...] = ()
        self.alerts = AlertService.from_settings(settings, data_dir, clock, owner=True)
        self.presence = Presence(Path(data_dir) / "caregiver" / "presence.json", clock, listening=listening)
        self.sync = clock_sync or ClockSync()
        self.inactivity = InactivityWatch(settings, store, self.alerts, clock, listening=listening,
                                          clock_sync=self.sync)
        self.consent = QuoteConsentSkill(settings, store, clock)
        self.heartbeat = Heartbeat(settings, store, self.alerts, clock)
        self.listening = listening
        self.mqtt: MqttBridge | None = None
        self.ack_listener: AckListener | None = None

    def health(self) -> dict[str, Any]:
        """What MQTT publishes as device health."""
        last = self.inactivity.state.last_interaction
        return {"listening": bool(self.listening()), "clock_synchronised": self.sync.synchronised(),
                "last_interaction": last or None, "open_alerts": len(self.alerts.open_alerts())}

    def checks(self) -> list[Callable[[datetime], Any]]:
        """What runs every minute in the alert service's housekeeping thread."""
        out: list[Callable[[datetime], Any]] = [lambda now: self.presence.beat(), self.inactivity.check,
                                                self.heartbeat.check, *self.extra_checks]
        if self.mqtt is not None:
            out.append(lambda now: self.mqtt.publish_health())  # type: ignore[union-attr]
        return out

    def start(self, extra_checks: tuple[Callable[[datetime], Any], ...] = ()) -> None:
        """Connect MQTT, open the ack listener, start delivery and the minute checks (plus `extra_checks`)."""
        self.extra_checks = extra_checks
        c = self.settings.caregiver
        try:
            self.mqtt = MqttBridge.from_settings(self.settings, self.alerts, health=self.health)
        except Exception as exc:  # a broker problem must never stop the companion
            log.error("MQTT not started: %s", exc)
            self.alerts.report_failure("MQTT", f"cannot use the MQTT broker {c.mqtt_host}:{c.mqtt_port}: {exc}")
        if c.ack_listen:
            try:
                self.ack_listener = AckListener(self.alerts, c.ack_listen)
            except (OSError, ValueError) as exc:
                log.error("acknowledgement links not served: %s", exc)
                self.alerts.report_failure("acknowledgement links", f"cannot listen on {c.ack_listen}: {exc}")
        self.alerts.start(checks=self.checks())

    def close(self) -> None:
        """Stop everything; safe to call twice."""
        self.alerts.close()
        self.presence.flush()
        if self.mqtt is not None:
            self.mqtt.close()
        if self.ack_listener is not None:
            self.ack_listener.close()
