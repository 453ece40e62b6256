"""The config file (TOML) → frozen, validated settings, parsed once at start.

Every section is a frozen dataclass whose fields carry their unit in the name.
Validation is strict: an unknown key, a wrong type or a value outside the
allowed set is a `ConfigError` naming the file, line, key and what is allowed.
No config file at all means every default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

# ---------------------------------------------------------------- sections


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
    model_path: str = ""  # empty = the weights shipped in the package (companion/data/emotion_model.npz)


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
    timezone: str = ""  # IANA name like "Europe/London"; empty = system zone
    quiet_from: str = "22:00"  # local "HH:MM": no non-urgent speech from then... (routines file may override)
    quiet_until: str = "07:00"  # ...until then; equal to quiet_from = no quiet hours
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
    quiet_hours: str = ""  # "21:00-08:00": non-urgent messages wait; urgent alerts ignore it
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

    def replace(self, **sections: Any) -> "Settings":
        """A copy with some sections (or section fields as dicts) replaced."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            if isinstance(value, dict):
                value = dataclasses.replace(getattr(self, name), **value)
            changes[name] = value
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- locations


def default_config_path() -> Path:
    """$COMPANION_CONFIG, else ~/.config/companion/config.toml (XDG)."""
    env = os.environ.get("COMPANION_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "companion" / "config.toml"


def data_dir(settings: Settings) -> Path:
    """Where the store and state live: config, $STATE_DIRECTORY (systemd), or XDG data dir."""
    if settings.memory.data_dir:
        return Path(settings.memory.data_dir).expanduser()
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if state:
        return Path(state.split(":")[0])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "companion"


def models_dir() -> Path:
    """Where setup.sh puts downloaded models: $COMPANION_MODELS or the data dir's models/."""
    env = os.environ.get("COMPANION_MODELS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "companion" / "models"


# ---------------------------------------------------------------- parsing


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a config file. A missing default file means defaults.

    An explicitly named file that does not exist is an error.
    """
    explicit = path is not None
    p = Path(path) if path is not None else default_config_path()
    if not p.exists():
        if explicit:
            raise ConfigError(
                f"config file {p} does not exist; create it (see examples/config.toml) "
                "or leave out --config to run on defaults"
            )
        return Settings()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    return parse_settings(text, source=str(p))


def load_settings_or_last_good(path: str | os.PathLike[str] | None = None) -> tuple[Settings, str | None]:
    """For the running service: a bad edit never stops it.

    A valid file is also saved as `last-good-config.toml` in the data
    directory. An invalid one is reported (the second value) and the last
    good copy is used instead — or the defaults when there is none yet.
    """
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        fallback = Settings()
        last_good = data_dir(fallback) / LAST_GOOD
        if last_good.exists():
            try:
                return parse_settings(last_good.read_text(encoding="utf-8"), source=str(last_good)), (
                    f"{exc}\nKeeping the last good config ({last_good}) until the file is fixed.")
            except ConfigError:
                pass
        return fallback, f"{exc}\nRunning on the defaults until the file is fixed."
    if settings.source:
        target = data_dir(settings) / LAST_GOOD
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = target.with_suffix(".tmp")
            tmp.write_text(Path(settings.source).read_text(encoding="utf-8"), encoding="utf-8")
            os.replace(tmp, target)
        except OSError:
            pass  # not being able to keep a copy must not stop the companion
    return settings, None


LAST_GOOD = "last-good-config.toml"


def parse_settings(text: str, source: str = "<config>") -> Settings:
    """Validate TOML text into Settings; all problems are reported together."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}. Check quotes and brackets on that line.") from exc
    problems: list[str] = []
    sections: dict[str, Any] = {}
    known = {f.name: f for f in dataclasses.fields(Settings) if f.name != "source"}
    for name, value in data.items():
        if name not in known:
            problems.append(
                f"{source}:{_line_of(text, None, name)}: unknown section [{name}]; "
                f"allowed: {', '.join(sorted(known))}"
            )
            continue
        if not isinstance(value, dict):
            problems.append(f"{source}:{_line_of(text, None, name)}: '{name}' must be a [{name}] section")
            continue
        cls = typing.get_type_hints(Settings)[name]
        sections[name] = _parse_section(cls, name, value, text, source, problems)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return Settings(**sections, source=source)


def _parse_section(cls: type, section: str, values: dict[str, Any], text: str,
                   source: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{source}:{_line_of(text, section, key)}: [{section}] {key}"
        if key not in fields:
            close = _closest(key, fields)
            hint = f" (did you mean '{close}'?)" if close else ""
            problems.append(f"{where}: unknown key{hint}; allowed: {', '.join(sorted(fields))}")
            continue
        ok, converted, expected = _check(hints[key], value)
        if not ok:
            problems.append(f"{where} = {value!r}: expected {expected}")
            continue
        if isinstance(converted, (int, float)) and not isinstance(converted, bool) and converted < 0:
            problems.append(f"{where} = {value!r}: must not be negative")
            continue
        kwargs[key] = converted
    return cls(**kwargs)


def _check(tp: Any, value: Any) -> tuple[bool, Any, str]:
    """Is `value` of type `tp`? Returns (ok, converted value, description of tp)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        return value in allowed, value, "one of " + ", ".join(repr(a) for a in allowed)
    if origin in (typing.Union, types.UnionType):
        descs = []
        for arm in typing.get_args(tp):
            if arm is type(None):
                descs.append("nothing (leave the key out)")
                continue
            ok, conv, desc = _check(arm, value)
            if ok:
                return True, conv, desc
            descs.append(desc)
        return False, value, " or ".join(descs)
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list):
            return False, value, f"a list like [{_example(inner)}]"
        out = []
        for item in value:
            ok, conv, desc = _check(inner, item)
            if not ok:
                return False, value, f"a list of {desc}"
            out.append(conv)
        return True, tuple(out) if origin is tuple else out, "a list"
    if tp is Any:
        return True, value, "anything"
    if tp is bool:
        return isinstance(value, bool), value, "true or false"
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value, "a whole number"
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value, "a number"
    if tp is str:
        return isinstance(value, str), value, "text in quotes"
    if isinstance(tp, type) and isinstance(value, tp):
        return True, value, tp.__name__
    return False, value, getattr(tp, "__name__", str(tp))


def _example(tp: Any) -> str:
    return {int: "1, 2", float: "0.5", str: '"text"'}.get(tp, "...")


def _line_of(text: str, section: str | None, key: str) -> int:
    """Best-effort line number of `key` (inside [section]) in TOML text."""
    current: str | None = None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    keyline = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for no, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1)
            if section is None and current == key:
                return no
            continue
        if current == section and keyline.match(line):
            return no
        if section is None and current is None and keyline.match(line):
            return no
    return 0


def _closest(key: str, options: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(key, sorted(options), n=1, cutoff=0.6)
    return match[0] if match else None
