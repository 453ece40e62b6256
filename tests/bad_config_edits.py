"""Plausible bad edits of a family's config.toml, with what the companion must say about each.

Shared by tests/test_bad_config.py (fast checks) and scripts/reliability_config.py (the whole
start of the service, with a real turn, for every edit). Each edit starts from GOOD_CONFIG, a
realistic config; `line` is where the message must point, `fix` a phrase of the fix it must give.
Edits marked `accepted` are written differently but right ("10pm", "9pm-8am", a byte-order mark):
the companion must take them, with the value checked by `value`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# {routines}, {secret}, {data}, {voice_dir} are filled in by `good_config(tmp)`.
GOOD_CONFIG = """\
# Mum's companion. Edited by Susan.
[conversation]
user_name = "Margaret"

[routines]
file = "{routines}"
timezone = "Europe/London"
quiet_from = "22:00"
quiet_until = "07:00"

[caregiver]
contacts = ["Susan"]
webhook_url = "https://ntfy.example.org/mums-companion-7f3a"
webhook_format = "text"
smtp_host = "smtp.example.org"
smtp_port = 587
smtp_user = "mum.companion@example.org"
smtp_password_file = "{secret}"
smtp_to = ["susan@example.org"]
quiet_hours = "21:00-08:00"

[tts]
length_scale = 1.15
volume = 1.0

[wake]
threshold = 0.9

[gpio]
talk_pin = 17
help_pin = 27

[memory]
data_dir = "{data}"
"""


def good_config(tmp: Path) -> str:
    """GOOD_CONFIG with its files created under `tmp` (routines file, password file, data folder)."""
    routines = tmp / "routines.toml"
    if not routines.exists():
        routines.write_text('[[medication]]\nname = "blood-pressure tablet"\ntime = "08:00"\n')
    secret = tmp / "smtp-password"
    secret.write_text("hunter2\n")
    secret.chmod(0o600)
    (tmp / "voices").mkdir(exist_ok=True)
    return GOOD_CONFIG.format(routines=routines, secret=secret, data=tmp / "data", voice_dir=tmp / "voices")


@dataclass(frozen=True)
class Edit:
    """One edit: how to make it, and what must be said."""

    name: str
    apply: Callable[[str, Path], str | bytes]  # (good text, tmp dir) → the edited file's content
    line: int | None = None  # the line the message points at (None: not checked)
    fix: str = ""  # a phrase of the message (the fix)
    accepted: bool = False  # written differently but right: must be taken as it is
    value: Callable[[Any], bool] | None = None  # for accepted edits: the parsed settings are right
    needs_models: bool = False  # parses fine; only loading the models shows the problem


def sub(old: str, new: str) -> Callable[[str, Path], str]:
    """Replace the line that starts with `old` (first match) by `new`."""
    def apply(text: str, tmp: Path) -> str:
        pattern = re.compile(r"^" + re.escape(old) + r".*$", re.M)
        assert pattern.search(text), old
        return pattern.sub(lambda _: new, text, count=1)
    return apply


def after(anchor: str, line: str) -> Callable[[str, Path], str]:
    """Insert `line` right after the line that starts with `anchor`."""
    def apply(text: str, tmp: Path) -> str:
        pattern = re.compile(r"^(" + re.escape(anchor) + r".*)$", re.M)
        assert pattern.search(text), anchor
        return pattern.sub(lambda m: m.group(1) + "\n" + line, text, count=1)
    return apply


def _voice_folder(text: str, tmp: Path) -> str:
    return text.replace("[tts]\n", f'[tts]\nvoice = "{tmp / "voices"}"\n')


def _voice_without_json(text: str, tmp: Path) -> str:
    (tmp / "voices" / "en_GB-alba-medium.onnx").write_bytes(b"\0" * 64)
    return text.replace("[tts]\n", f'[tts]\nvoice = "{tmp / "voices" / "en_GB-alba-medium.onnx"}"\n')


def _damaged_voice(text: str, tmp: Path) -> str:
    onnx = tmp / "voices" / "en_GB-broken-medium.onnx"
    onnx.write_bytes(bytes(range(256)) * 40)  # a download cut short: the wrong bytes, with its .json beside it
    Path(f"{onnx}.json").write_text('{"audio": {"sample_rate": 22050}}')
    return text.replace("[tts]\n", f'[tts]\nvoice = "{onnx}"\n')


def _data_is_a_file(text: str, tmp: Path) -> str:
    (tmp / "notes.txt").write_text("shopping: milk\n")
    return sub("data_dir =", f'data_dir = "{tmp / "notes.txt"}"')(text, tmp)


def _routines_folder(text: str, tmp: Path) -> str:
    return sub("file =", f'file = "{tmp}"')(text, tmp)


def _routines_typo(text: str, tmp: Path) -> str:
    return sub("file =", f'file = "{tmp / "routine.toml"}"')(text, tmp)


def _password_missing(text: str, tmp: Path) -> str:
    return sub("smtp_password_file =", f'smtp_password_file = "{tmp / "smtp-pasword"}"')(text, tmp)


EDITS: list[Edit] = [
    # ---- time zones
    Edit("time zone typo", sub("timezone =", 'timezone = "Europe/Lodnon"'), 7, 'did you mean "Europe/London"'),
    Edit("time zone abbreviation", sub("timezone =", 'timezone = "BST"'), 7, 'like "Europe/London"'),
    Edit("time zone as an offset", sub("timezone =", 'timezone = "GMT+1"'), 7, "write the place"),
    Edit("time zone outside any section", lambda t, _: 'timezone = "Europe/London"\n' + t, 1,
         "it belongs in [routines]"),
    Edit("time zone in the wrong section", after("contacts =", 'timezone = "Europe/London"'), 13,
         "timezone belongs in [routines]"),
    # ---- times and ranges
    Edit("12-hour quiet_from", sub("quiet_from =", 'quiet_from = "10pm"'), accepted=True,
         value=lambda s: s.routines.quiet_from.hour == 22 and s.household.quiet is not None),
    Edit("12-hour with a space", sub("quiet_until =", 'quiet_until = "7 am"'), accepted=True,
         value=lambda s: s.routines.quiet_until.hour == 7),
    Edit("hour 25", sub("quiet_from =", 'quiet_from = "25:00"'), 8, '"22:00" (24-hour) or "10pm"'),
    Edit("time without quotes", sub("quiet_from =", "quiet_from = 22:00"), 8, 'quiet_from = "22:00"'),
    Edit("time in words", sub("quiet_from =", 'quiet_from = "half past nine"'), 8, 'or "10pm"'),
    Edit("quiet_hours in [routines]", after("quiet_until =", 'quiet_hours = "9pm-8am"'), 10,
         'quiet_from = "21:00" and quiet_until = "08:00"'),
    Edit("9pm-8am for the family", sub("quiet_hours =", 'quiet_hours = "9pm-8am"'), accepted=True,
         value=lambda s: (s.caregiver.quiet_hours.start.hour, s.caregiver.quiet_hours.end.hour) == (21, 8)),
    Edit("quiet range with one end", sub("quiet_hours =", 'quiet_hours = "9pm"'), 20, '"21:00-08:00" or "9pm-8am"'),
    # ---- web and e-mail addresses, servers
    Edit("webhook without https://", sub("webhook_url =", 'webhook_url = "ntfy.example.org/mums-companion-7f3a"'), 13, '"https://ntfy.example.org/mums-companion-7f3a"'),
    Edit("webhook scheme typo", sub("webhook_url =", 'webhook_url = "htps://ntfy.example.org/mum"'), 13,
         '"https://ntfy.example.org/mum"'),
    Edit("webhook with a space", sub("webhook_url =", 'webhook_url = "https://ntfy.example.org/mums companion"'), 13, "has a space in it"),
    Edit("webhook without a server", sub("webhook_url =", 'webhook_url = "https://"'), 13, "no valid server name"),
    Edit("one address without brackets", sub("smtp_to =", 'smtp_to = "susan@example.org"'), 19,
         '["susan@example.org"]'),
    Edit("address without @", sub("smtp_to =", 'smtp_to = ["susan.example.org"]'), 19, 'like "susan@example.org"'),
    Edit("two addresses in one text", sub("smtp_to =", 'smtp_to = ["susan@example.org, tom@example.org"]'), 19,
         '["susan@example.org", "tom@example.org"]'),
    Edit("sender that is a name", after("smtp_user =", 'smtp_from = "Mum\'s companion"'), 18,
         "is not an e-mail address"),
    Edit("mail server with smtp://", sub("smtp_host =", 'smtp_host = "smtp://smtp.example.org"'), 15,
         'without smtp://, like "smtp.example.org"'),
    Edit("mail server with its port", sub("smtp_host =", 'smtp_host = "smtp.example.org:587"'), 15,
         "smtp_port = 587"),
    Edit("mail server but no recipients", sub("smtp_to =", "# smtp_to = (deleted)"), 15,
         "smtp_to is empty"),
    Edit("port in quotes", sub("smtp_port =", 'smtp_port = "587"'), 16, "without quotes, like 587"),
    Edit("port out of range", sub("smtp_port =", "smtp_port = 70000"), 16, "use 1 to 65535"),
    Edit("SSL on the STARTTLS port", after("smtp_port =", "smtp_ssl = true"), 17, "smtp_ssl = false"),
    Edit("header without a colon", after("webhook_format =", 'webhook_headers = ["Authorization Bearer tk_1"]'), 15, '"Name: value"'),
    # ---- files and folders
    Edit("password file missing", _password_missing, 18, "does not exist (did you mean"),
    Edit("voice file missing", after("[tts]", 'voice = "/home/pi/voices/en_GB-alba-medium.onnx"'), 23,
         "leave the key out for the bundled voice"),
    Edit("voice is a folder", _voice_folder, 23, "is a folder; name the file itself"),
    Edit("voice without its .json", _voice_without_json, 23, "has no 'en_GB-alba-medium.onnx.json' next to it"),
    Edit("damaged voice file", _damaged_voice, None, "could not start with the config file", needs_models=True),
    Edit("LLM model missing", lambda t, _: t + '\n[llm]\nmodel_path = "/home/pi/models/qwen.gguf"\n', 37,
         "run ./setup.sh to download one"),
    Edit("Vosk folder missing", lambda t, _: t + '\n[stt]\nvosk_model_dir = "/home/pi/vosk-model-en"\n', 37,
         "does not exist"),
    Edit("data folder is a file", _data_is_a_file, 34, "is a file, not a folder"),
    Edit("routines file is a folder", _routines_folder, 6, "is a folder; name the file in it"),
    Edit("routines file name typo", _routines_typo, 6, "does not exist yet", accepted=True,
         value=lambda s: s.routines.file.name == "routine.toml" and any("does not exist yet" in n for n in s.notes)),
    # ---- types, ranges, names
    Edit("engine in capitals", lambda t, _: t + '\n[stt]\nengine = "Vosk"\n', 37, "'vosk'"),
    Edit("unknown wake word", sub("threshold =", 'model = "hey_siri"'), 27, "'hey_jarvis'"),
    Edit("misspelt key", sub("threshold =", "threshhold = 0.9"), 27, "did you mean 'threshold'"),
    Edit("percent for a probability", sub("threshold =", "threshold = 90"), 27, "0.9 means 90%"),
    Edit("volume in words", sub("volume =", 'volume = "loud"'), 24, "a number"),
    Edit("volume far too high", sub("volume =", "volume = 11"), 24, "use 0.05 to 4"),
    Edit("decimal comma", sub("length_scale =", 'length_scale = "1,2"'), 23, "like 1.2"),
    Edit("seconds written out", after("user_name =", 'follow_up_s = "6 seconds"'), 4, "like 6"),
    Edit("yes for true", after("contacts =", 'share_words = "yes"'), 13, "write true without quotes"),
    Edit("emergency number as a number", lambda t, _: t + "\n[safety]\nemergency_number = 999\n", 37,
         'put it in double quotes, like "999"'),
    Edit("negative retention", after("data_dir =", "retention_days = -5"), 35, "use 1 to 3650"),
    Edit("GPIO pin that does not exist", sub("talk_pin =", "talk_pin = 40"), 30, "use 0 to 27"),
    Edit("the same pin twice", sub("talk_pin =", "talk_pin = 27"), 31, "is used twice"),
    Edit("day that ends before it starts", after("quiet_hours =", "daytime_start_hour = 22"), 21,
         "the start must be earlier"),
    Edit("reply longer than the context", lambda t, _: t + "\n[llm]\nmax_reply_tokens = 2000\n", 37,
         "use 8 to 1024"),
    Edit("misspelt section", lambda t, _: t.replace("[caregiver]", "[caregivers]"), 11, "did you mean [caregiver]"),
    # ---- the file itself
    Edit("missing closing quote", sub("user_name =", 'user_name = "Margaret'), 3, "double quote is missing"),
    Edit("the same key twice", after("volume =", "volume = 0.8"), 25, "appears twice"),
    Edit("curly quotes from a word processor", sub("user_name =", "user_name = “Margaret”"), 3,
         "straight double quotes"),
    Edit("saved as UTF-16", lambda t, _: t.encode("utf-16"), 1, "save it as UTF-8"),
    Edit("a Latin-1 character", lambda t, _: t.replace('"Margaret"', '"Zoë"').encode("latin-1"), 3,
         "not UTF-8 text"),
    Edit("Windows Notepad byte-order mark", lambda t, _: "\ufeff" + t, accepted=True,
         value=lambda s: s.conversation.user_name == "Margaret"),
    Edit("NUL bytes after a power cut", lambda t, _: t.encode() + b"\0" * 512, 35, "contains NUL bytes"),
    Edit("emptied file", lambda t, _: "", 1, "looks emptied"),
]
