"""The settings: one frozen dataclass per config section, units in the field names."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from datetime import time
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

from companion.clock import Household, QuietHours, system_zone
from companion.config.values import check, describe_problem
from companion.errors import ConfigError


@dataclass(frozen=True)
class AudioSettings:
    """Microphone and speaker."""

    input_device: str | int | None = None  # name substring or index; None = system default
    output_device: str | int | None = None
    echo_coupling: float = 0.0  # only for file runs: how much of the reply leaks into the mic


@dataclass(frozen=True)
class WakeSettings:
    """Wake word detection (pymicro-wakeword)."""

    model: Literal["hey_jarvis", "okay_nabu", "hey_mycroft", "alexa"] = "hey_jarvis"
    threshold: float = 0.9  # probability cutoff while idle (mean over the model's sliding window)
    speaking_threshold: float = 0.97  # stricter cutoff while the companion speaks (barge-in only)
    refractory_s: float = 2.0  # ignore new detections this long after one
    echo_ratio: float = 0.6  # barge-in needs mic level > echo_ratio × recent playback level


@dataclass(frozen=True)
class VadSettings:
    """End-of-speech detection."""

    aggressiveness: Literal[0, 1, 2, 3] = 2  # WebRTC VAD: higher rejects more noise as non-speech
    threshold: float = 0.5  # fraction of 10 ms frames in a 32 ms block that must be speech
    complete_silence_ms: int = 450  # end the turn after this much silence when the words are complete
    default_silence_ms: int = 1600  # ... when unsure (longer than most word-finding pauses)
    incomplete_silence_ms: int = 2200  # ... when she stopped mid-phrase ("and", "my", rising pitch)
    speculate_after_ms: int = 50  # start a speculative reply after this much silence
    max_utterance_s: float = 20.0
    no_speech_timeout_s: float = 5.0  # back to idle if nobody speaks after the wake word


@dataclass(frozen=True)
class SttSettings:
    """Speech recognition."""

    engine: Literal["auto", "vosk", "pocketsphinx"] = "auto"
    vosk_model_dir: str = ""  # empty = look in the models dir for vosk-model-*


@dataclass(frozen=True)
class LlmSettings:
    """Reply generation (llama-cpp-python)."""

    model_path: str = ""  # empty = an installed instruct GGUF, else the bundled gemma3-270m
    prompt_style: Literal["auto", "chat", "transcript"] = "auto"
    context_tokens: int = 2048
    threads: int = 0  # 0 = cores - 1, leaving one core to the ears and the voice (measured best on 2 cores)
    max_reply_tokens: int = 96
    max_reply_s: float = 8.0
    temperature: float = 0.6
    seed: int = 0


@dataclass(frozen=True)
class TtsSettings:
    """Speech output (Piper)."""

    voice: str = ""  # path to a Piper .onnx voice; empty = installed voice or bundled en_US-joe-medium
    length_scale: float = 1.15  # >1 is slower than Piper's default, kinder for older listeners
    volume: float = 1.0
    sentence_pause_ms: int = 250


@dataclass(frozen=True)
class ConversationSettings:
    """Turn-taking and persona."""

    assistant_name: str = "Companion"
    user_name: str = ""
    follow_up_s: float = 6.0  # listen without the wake word after a reply
    disclose_after_conversation_s: float = 3 * 3600.0  # say it is an AI again after this much talk
    quiet_after_irritation_s: float = 1800.0  # after "be quiet" or irritation: no check-ins or non-urgent questions


@dataclass(frozen=True)
class MemorySettings:
    """On-device store."""

    data_dir: str = ""  # empty = user data dir (or /var/lib/companion under systemd)
    retention_days: int = 30  # conversation text is deleted after this
    context_tokens: int = 160  # budget for memories in the LLM prompt (about 4 characters per token)
    recall_count: int = 4  # relevant memories per turn, besides her name and closest family
    llm_extract: bool = False  # also ask the LLM for facts (only with a 1B+ instruct model)
    confirm_window_s: float = 120.0  # a "Shall I remember/forget...?" question waits this long for yes/no


@dataclass(frozen=True)
class EmotionSettings:
    """Mood sensing from voice and words."""

    mode: Literal["ask", "on", "off"] = "ask"  # ask = explain and ask consent first; on = pre-approved
    baseline_min_utterances: int = 20  # her own utterances needed before her personal baseline is used
    baseline_window_utterances: int = 500  # older utterances fade from the baseline after about this many
    min_voiced_s: float = 0.5  # less voiced speech than this: judge the words only
    consent_asks_max: int = 3  # conversations in which to ask for consent before giving up
    model_path: str = ""  # empty = the weights shipped in the package (companion/emotion/data/emotion_model.npz)


@dataclass(frozen=True)
class GpioSettings:
    """Buttons and LEDs (BCM pin numbers)."""

    enabled: bool = True  # false = no panel at all (the app runs on wake word only)
    talk_pin: int = 17  # talk button (header pin 11), other leg to GND
    help_pin: int = 27  # help button (header pin 13), other leg to GND
    mute_pin: int = 22  # mute button (header pin 15), other leg to GND
    led_kind: Literal["pwm", "rgb"] = "pwm"  # pwm = separate LEDs; rgb = one RGB LED
    status_led_pin: int = 12  # pwm: main status LED (header pin 32)
    mute_led_pin: int = 13  # pwm: red "microphone off" LED (header pin 33)
    mood_led_pin: int | None = 16  # small "mood sensing on" LED (header pin 36); leave out for none
    rgb_pins: list[int] = field(default_factory=lambda: [5, 6, 26])  # rgb: red, green, blue (pins 29, 31, 37)
    rgb_common_anode: bool = False  # true for a common-anode RGB LED (long leg to 3.3 V)
    brightness: float = 1.0  # 0..1, scales every LED pattern (dim a bright bedroom LED)
    help_hold_s: float = 2.0  # how long the help button must be held to call for help
    help_cancel_s: float = 10.0  # a help-button press this soon after a help request cancels it
    bounce_s: float = 0.05  # button debounce time


@dataclass(frozen=True)
class RoutinesSettings:
    """Family-set routines."""

    file: str = ""  # path to routines.toml; empty = none
    timezone: ZoneInfo | None = None  # IANA name like "Europe/London"; empty = system zone
    quiet_from: time = time(22)  # local time ("22:00" or "10pm"): no non-urgent speech from then...
    quiet_until: time = time(7)  # ...until then (the routines file may override); equal = no quiet hours
    reload_check_s: float = 2.0  # how often to look at the routines file's modification time


@dataclass(frozen=True)
class CaregiverSettings:
    """Alerts and summaries for the family."""

    share_words: bool = False  # False = categories only; True = her own words for flagged moments
    contacts: list[str] = field(default_factory=list)  # names she hears in confirmations ("I've let Susan know")
    smtp_host: str = ""  # empty = no e-mail channel
    smtp_port: int = 587  # 587 with STARTTLS, 465 with smtp_ssl, 25 for a local relay
    smtp_user: str = ""  # empty = no login
    smtp_password_file: str = ""  # file holding the SMTP password (never the password itself)
    smtp_from: str = ""  # sender address; empty = smtp_user
    smtp_to: list[str] = field(default_factory=list)  # caregiver addresses
    smtp_starttls: bool = True  # upgrade the connection with STARTTLS
    smtp_ssl: bool = False  # implicit TLS (port 465) instead of STARTTLS
    smtp_timeout_s: float = 20.0  # per connection attempt
    webhook_url: str = ""  # empty = no webhook; e.g. https://ntfy.sh/my-mum-topic
    webhook_headers: list[str] = field(default_factory=list)  # extra headers as "Name: value"
    webhook_format: Literal["json", "text"] = "json"  # text = plain body + Title/Priority headers (ntfy)
    webhook_timeout_s: float = 10.0  # per request
    outbox_dir: str = ""  # empty = <data dir>/outbox; every alert is always written here
    retry_initial_s: float = 30.0  # first retry delay; doubles each failure
    retry_max_s: float = 3600.0  # longest wait between retries (never gives up)
    quiet_hours: QuietHours | None = None  # "21:00-08:00" or "9pm-8am": non-urgent messages wait; urgent don't
    inactivity_hours: float = 6.0  # daytime hours without any interaction before an alert; 0 = off
    daytime_start_hour: int = 8  # local hour the inactivity watch starts counting
    daytime_end_hour: int = 21  # local hour it stops
    failure_alert_interval_s: float = 3600.0  # at most one "companion failing" alert per component this often


@dataclass(frozen=True)
class SafetySettings:
    """Deterministic emergency handling."""

    emergency_number: str = "911"  # said in every emergency response (999, 112, 000 ...)
    crisis_line: str = "988"  # said when she talks of suicide or self-harm
    confirm_window_s: float = 120.0  # how long her answer to "Are you hurt?" is taken as a reply to it


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
                hints = typing.get_type_hints(type(section))
                parsed = {}
                for key, raw in value.items():
                    ok, converted, expected = check(hints[key], raw)
                    if not ok:
                        raise ConfigError(describe_problem(f"[{name}] {key}", raw, expected))
                    parsed[key] = converted
                value = dataclasses.replace(section, **parsed)
            changes[name] = value
        return dataclasses.replace(self, **changes)
