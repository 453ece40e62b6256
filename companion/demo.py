"""`companion demo`: a scripted spoken conversation, synthesised with Piper, through the full loop."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .audio import SAMPLE_RATE, resample, write_wav
from .config import Settings
from .tts import PiperTTS

DEMO_SCRIPT = [
    "What time is it?",
    "I baked an apple pie this morning.",
    "Could you speak a little slower?",
    "Tell me something cheerful about autumn.",
]


def speak_16k(tts: PiperTTS, text: str, *, length_scale: float = 1.0) -> np.ndarray:
    """Piper speech resampled to the microphone's 16 kHz."""
    return resample(tts.synthesize_all(text, length_scale=length_scale, deterministic=True), tts.rate, SAMPLE_RATE)


def silence(seconds: float) -> np.ndarray:
    """Digital silence at 16 kHz."""
    return np.zeros(int(seconds * SAMPLE_RATE), np.int16)


def utterance(tts: PiperTTS, parts: Sequence[str | float], *, wake: str | None = "Hey Jarvis",
              lead_s: float = 0.5) -> np.ndarray:
    """Audio of: lead silence, the wake phrase, then text pieces; a float in `parts` is a pause in seconds."""
    pieces = [silence(lead_s)]
    if wake:
        pieces += [speak_16k(tts, wake), silence(0.45)]
    for part in parts:
        pieces.append(silence(part) if isinstance(part, (int, float)) else speak_16k(tts, part))
    return np.concatenate(pieces)


def write_script(tts: PiperTTS, directory: Path, script: Sequence[str] = DEMO_SCRIPT) -> list[Path]:
    """One WAV per scripted line (wake word + line), as a microphone would hear them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, line in enumerate(script, 1):
        p = directory / f"user-{i:02d}.wav"
        write_wav(p, utterance(tts, [line]), SAMPLE_RATE)
        paths.append(p)
    return paths


def demo(settings: Settings, output_dir: Path, *, fast: bool = False) -> int:
    """Synthesise the script, run it through the loop, print each turn with its timings."""
    from .app import load_components, run_files
    from .audio import EchoPath

    echo = EchoPath(settings.audio.echo_coupling)
    print("Loading models (wake word, VAD, speech recognition, LLM, voice)...", flush=True)
    components = load_components(settings, echo)
    with tempfile.TemporaryDirectory(prefix="companion-demo-") as tmp:
        # A scratch store, so the demo never writes into her real memories; mood sensing is
        # pre-approved for the demo unless the config switched it off.
        settings = settings.replace(memory={"data_dir": str(Path(tmp) / "data")},
                                    emotion={"mode": "off" if settings.emotion.mode == "off" else "on"})
        inputs = write_script(components.tts, Path(tmp))
        print(f"Playing {len(inputs)} synthesised utterances through the full loop"
              f"{'' if fast else ' in real time'}...\n", flush=True)
        turns, files = run_files(settings, inputs, output_dir, realtime=not fast, components=components)
    for i, t in enumerate(turns, 1):
        print(f"Turn {i}: wake={'yes' if t.wake_detected else 'no'}  intent={t.intent or '-'}")
        print(f"  she said : {t.transcript}")
        print(f"  reply    : {t.reply}")
        if t.emotion:
            print(f"  mood     : {t.emotion.get('category')} ({t.emotion.get('confidence', 0):.0%}), "
                  f"arousal {t.emotion.get('arousal')}, valence {t.emotion.get('valence', 0):+.2f}")
        ms = lambda v: "-" if v is None else f"{v:.0f} ms"  # noqa: E731
        print(f"  timings  : endpoint {ms(t.endpoint_ms)}, stt {ms(t.stt_ms)}, llm first token "
              f"{ms(t.llm_first_token_ms)}, first sentence {ms(t.first_sentence_ms)}, tts {ms(t.tts_first_audio_ms)}, "
              f"first audio after she stopped {ms(t.first_audio_after_speech_end_ms)}\n")
    print(f"Replies written to {output_dir}/ ({len(files)} WAV files) with turns.jsonl")
    answered = [t for t in turns if t.transcript.strip() and t.reply.strip()]
    if len(answered) < len(inputs):
        print(f"PROBLEM: only {len(answered)} of {len(inputs)} scripted turns were heard and answered; "
              "run `companion doctor`")
        return 1
    print(f"All {len(inputs)} scripted turns were heard and answered.")
    return 0
