"""Long and odd typed input: what people paste or type by accident. Shared by tests/test_long_input.py and
scripts/reliability_chat_input.py. Each entry: (name, the line as bytes, must it be cut to fit the model?).
"""

from __future__ import annotations

WORDS = ("my daughter came over on sunday and we talked about the garden the roses the weather and the old "
         "days when we lived by the sea in a little house with a blue door").split()


def prose(n_bytes: int) -> str:
    """Ordinary words, about n_bytes long (a pasted letter)."""
    out, i, size = [], 0, 0
    while size < n_bytes:
        out.append(WORDS[i % len(WORDS)])
        size += len(out[-1]) + 1
        i += 7
    return " ".join(out)


HOSTILE: list[tuple[str, bytes, bool]] = [
    ("6 KB of words after a few turns", prose(6_000).encode(), True),
    ("60 KB of words", prose(60_000).encode(), True),
    ("1 MB of words", prose(1_000_000).encode(), True),
    ("one 6 KB word", ("supercalifragilistic" * 300).encode(), True),
    ("6 KB of x", b"x" * 6_000, True),
    ("6 KB of emoji only", ("🙂👵🌷" * 500).encode(), False),
    ("emoji between 6 KB of words", ("I love my garden 🌷🌷 so much " * 200).encode(), True),
    ("terminal colours and a bell", b"\x1b[31mred\x1b[0m text and a bell \x07\x07", False),
    ("NUL bytes inside", b"hello\x00 there\x00", False),
    ("bytes that are not UTF-8", b"caf\xe9 cr\xe8me \xff\xfe", False),
    ("only punctuation", b"?!?!...,,,;;;---", False),
    ("only emoji", "🙂🙂🙂 👵❤️".encode(), False),
    ("only zero-width spaces", "\u200b\u200b\u200b\u200d".encode(), False),
    ("only control characters", b"\x01\x02\x03\x04", False),
    ("right-to-left text", "مرحبا كيف حالك اليوم".encode(), False),
    ("combining marks", ("h\u0301\u0302\u0303e\u0304\u0305l\u0306l\u0307o" * 40).encode(), False),
    ("fullwidth letters", "ｈｅｌｌｏ　ｆｒｉｅｎｄ".encode(), False),
]
