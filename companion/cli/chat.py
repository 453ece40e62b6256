"""`companion chat`: type instead of speaking; replies are printed (and optionally spoken)."""

from __future__ import annotations

import io
import sys

from companion.audio.devices import SoundDeviceSpeaker
from companion.audio.echo import EchoPath
from companion.audio.frames import SilentSpeaker
from companion.audio.wav import WavFileSource
from companion.config import Settings


def chat(settings: Settings, *, speak: bool = False, stdin=None, stdout=None, components=None, clock=None) -> int:
    """Read lines, answer each through the skills and the LLM, until EOF or 'bye'.

    `components` (the loaded models) and `clock` are seams for tests; by default they are loaded and real.
    """
    from companion.app import App

    # bytes that are not UTF-8 (a paste from another encoding) become "?" rather than ending the chat
    stdin = stdin or io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    stdout = stdout or sys.stdout
    echo = EchoPath()
    speaker = SoundDeviceSpeaker(settings.audio.output_device, echo) if speak else None
    import numpy as np

    app = App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
              speaker=speaker or SilentSpeaker(), echo=echo, components=components, clock=clock)
    tts = app.components.tts
    print("Type to talk; an empty line or Ctrl-D ends.", file=stdout, flush=True)
    try:
        for line in stdin:
            text = line.strip()
            if not text:
                break
            for sentence in app.engine.reply_to_text(text):
                print(f"{settings.conversation.assistant_name}: {sentence}", file=stdout, flush=True)
                if speaker is not None:
                    ls, vol = app.style.for_turn(None)
                    for chunk in tts.synthesize(sentence, length_scale=ls, volume=vol):
                        speaker.begin(chunk.rate)
                        speaker.write(chunk.samples)
                    speaker.end()
    finally:
        app.close()
    return 0


def add_commands(subparsers) -> None:
    """Register `companion chat`."""
    c = subparsers.add_parser("chat", help="type instead of speaking")
    c.add_argument("--speak", action="store_true", help="also speak the replies through the speaker")
    c.set_defaults(func=lambda args, settings: chat(settings, speak=args.speak))
