"""`companion transcribe FILE...`: what the recogniser hears in each recording (is it hearing Mum?).

Each WAV or FLAC, at any rate, is converted to 16 kHz mono and transcribed
with the recogniser the companion would use (or `--engine`), printing the
words, the engine and the real-time factor (recognition time ÷ audio time).
`--json` prints one object per file: the stable interface for evaluations.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from companion.audio.frames import SAMPLE_RATE


def transcribe_files(settings, paths: list[str], *, engine: str | None = None, as_json: bool = False) -> int:
    """Transcribe every file; a file that cannot be read is reported and the others still run."""
    from companion.audio.wav import read_audio
    from companion.ears.stt import load_recognizer
    from companion.errors import AudioFormatError

    stt = settings.stt if engine is None else settings.replace(stt={"engine": engine}).stt
    recognizer = load_recognizer(stt)
    status = 0
    for path in paths:
        try:
            audio = read_audio(path)
        except AudioFormatError as exc:
            print(json.dumps({"file": path, "error": str(exc)}) if as_json else str(exc))
            status = 2
            continue
        t0 = time.monotonic()
        result = recognizer.transcribe(audio)
        seconds = time.monotonic() - t0
        duration = len(audio) / SAMPLE_RATE
        rtf = seconds / duration if duration else 0.0
        if as_json:
            print(json.dumps({"file": path, "text": result.text, "engine": recognizer.name,
                              "duration_s": round(duration, 3), "seconds": round(seconds, 3), "rtf": round(rtf, 3),
                              "words": [{"word": w.word, "start_s": round(w.start_s, 2), "end_s": round(w.end_s, 2),
                                         "confidence": round(w.confidence, 3)} for w in result.words]}))
        else:
            print(f"{Path(path).name}: {result.text or '(nothing heard)'}")
            print(f"    {recognizer.name}, {duration:.1f} s of audio, real-time factor {rtf:.2f}")
    recognizer.close()
    return status


def add_commands(subparsers) -> None:
    """Register `companion transcribe`."""
    t = subparsers.add_parser("transcribe", help="what the speech recogniser hears in WAV/FLAC recordings")
    t.add_argument("files", nargs="+", metavar="FILE", help="WAV or FLAC recordings (any rate; converted)")
    t.add_argument("--json", action="store_true", help="one JSON object per file (text, engine, rtf, words)")
    t.add_argument("--engine", choices=["auto", "whisper", "vosk", "pocketsphinx"],
                   help="recogniser to use (default: the one the companion uses, [stt] engine)")
    t.set_defaults(func=lambda args, settings: transcribe_files(settings, args.files, engine=args.engine,
                                                                as_json=args.json))
