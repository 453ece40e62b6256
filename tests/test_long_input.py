"""Typed input longer than the model's context is cut (the start kept, and she is told); odd input never
crashes. The full version (every hostile line through `companion chat`) is scripts/reliability_chat_input.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from odd_inputs import HOSTILE, prose

from companion.language import clean_typed
from companion.loop.dialogue import NOT_CAUGHT, TOO_MUCH
from companion.voice.llm import MAX_TEXT_TOKENS


@pytest.fixture()
def app(components, settings):
    from companion.app import App
    from companion.audio.echo import EchoPath
    from companion.audio.wav import WavFileSink, WavFileSource

    echo = EchoPath()
    a = App(settings, source=WavFileSource.from_array(np.zeros(0, np.int16), realtime=False),
            speaker=WavFileSink(settings.memory.data_dir / "out", realtime=False, echo=echo), echo=echo,
            components=components, start_alerts=False)
    yield a
    a.close()


def test_fit_keeps_short_words_whole_and_cuts_long_ones_at_the_start(models):
    llm = models.llm
    budget = llm.settings.context_tokens - llm.settings.max_reply_tokens
    history = [("I made soup today.", "That sounds lovely.")] * 3
    short = llm.fit("How are you?", "It is Monday morning.", history)
    assert (short.text, short.trimmed, len(short.history)) == ("How are you?", False, 3)
    letter = prose(6_000)
    cut = llm.fit(letter, "It is Monday morning.", history)
    assert cut.trimmed and cut.text.endswith("…") and letter.startswith(cut.text[:-1])
    assert len(llm._encode(cut.text)) <= MAX_TEXT_TOKENS + 2
    assert llm._count(cut.text, cut.context, cut.history) <= budget
    for text in ("x" * 200_000, "supercalifragilistic" * 5_000, "🌷" * 20_000):
        fitted = llm.fit(text, "It is Monday morning.", history)
        assert fitted.trimmed and llm._count(fitted.text, fitted.context, fitted.history) <= budget


def test_a_long_line_after_a_turn_is_cut_with_a_word_to_her(app):
    assert list(app.engine.reply_to_text("My son Tom lives in Leeds."))
    reply = list(app.engine.reply_to_text(prose(60_000)))
    assert TOO_MUCH in reply and reply[-1] != TOO_MUCH  # told, then answered
    assert app.engine.turns[-1].transcript.endswith("…") and len(app.engine.turns[-1].transcript) < 10_000
    assert re.search(r"It's .*(morning|afternoon|evening|night)", " ".join(app.engine.reply_to_text("What time is it?")))


# the rest (each answered by the LLM) are in scripts/reliability_chat_input.py
SHORT_ODD = [(name, line) for name, line, cut in HOSTILE if len(line) < 2_000
             and name not in ("combining marks", "fullwidth letters", "terminal colours and a bell")]


@pytest.mark.parametrize("name, line", SHORT_ODD, ids=[n for n, _ in SHORT_ODD])
def test_odd_input_gets_a_reply_and_never_an_exception(app, name, line):
    text = line.decode("utf-8", "replace")
    reply = " ".join(app.engine.reply_to_text(text))
    assert reply.strip()
    if not any(ch.isalnum() for ch in clean_typed(text)):
        assert reply == NOT_CAUGHT


def test_clean_typed_drops_controls_and_escapes():
    assert clean_typed("\x1b[31mred\x1b[0m and\x07 a\x00bell\u2028next") == "red and a bell next"
    assert clean_typed("caf\udce9") == "caf?"  # a lone surrogate from a mis-decoded paste


def test_companion_chat_survives_the_issue_input(tmp_path):
    """The issue's reproduction through the real command line: a turn, a 6 KB line, controls, bytes not UTF-8."""
    lines = [b"what's the date?", prose(6_000).encode(), b"\x1b[31m\x07\x00", b"\xff\xfe what time is it?"]
    config = tmp_path / "config.toml"
    config.write_text("[llm]\nmax_reply_tokens = 24\n")  # short replies: the test is about the input
    done = subprocess.run([sys.executable, "-m", "companion", "--config", str(config), "chat"], input=b"\n".join(lines) + b"\n",
                          capture_output=True, timeout=600,
                          env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")})
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in err, err[-500:]
    assert out.count(TOO_MUCH) == 1 and NOT_CAUGHT in out
    assert re.search(r"Companion: It's .*(morning|afternoon|evening|night)", out)
