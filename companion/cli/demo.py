"""`companion demo`: a scripted spoken conversation, synthesised with Piper, through the full loop."""

from __future__ import annotations

import tempfile
from pathlib import Path

from companion.config import Settings
from companion.voice.spoken import write_script


def demo(settings: Settings, output_dir: Path, *, fast: bool = False) -> int:
    """Synthesise the script, run it through the loop, print each turn with its timings."""
    from companion.app import load_components, run_files
    from companion.audio.echo import EchoPath

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
            mood = t.emotion.to_dict()
            print(f"  mood     : {mood.get('category')} ({mood.get('confidence', 0):.0%}), "
                  f"arousal {mood.get('arousal')}, valence {mood.get('valence', 0):+.2f}")
        ms = lambda v: "-" if v is None else f"{v:.0f} ms"  # noqa: E731
        tm = t.timings
        print(f"  timings  : endpoint {ms(tm.endpoint_ms)}, stt {ms(tm.stt_ms)}, llm first token "
              f"{ms(tm.llm_first_token_ms)}, first sentence {ms(tm.first_sentence_ms)}, "
              f"tts {ms(tm.tts_first_audio_ms)}, first audio after she stopped "
              f"{ms(tm.first_audio_after_speech_end_ms)}\n")
    print(f"Replies written to {output_dir}/ ({len(files)} WAV files) with turns.jsonl")
    answered = [t for t in turns if t.transcript.strip() and t.reply.strip()]
    if len(answered) < len(inputs):
        print(f"PROBLEM: only {len(answered)} of {len(inputs)} scripted turns were heard and answered; "
              "run `companion doctor`")
        return 1
    print(f"All {len(inputs)} scripted turns were heard and answered.")
    return 0


def add_commands(subparsers) -> None:
    """Register `companion demo`."""
    d = subparsers.add_parser("demo", help="a short scripted spoken conversation, no microphone needed")
    d.add_argument("--output-dir", default="demo-out", metavar="DIR", help="where the reply WAVs go (default demo-out)")
    d.add_argument("--fast", action="store_true", help="don't pace audio in real time (exits 1 unless every "
                                                       "scripted turn is heard and answered)")
    d.set_defaults(func=lambda args, settings: demo(settings, Path(args.output_dir), fast=args.fast))
