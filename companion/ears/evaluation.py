"""Labelled recordings and word error rate: how well the recogniser hears real voices.

A folder of recordings is labelled by any of: RAVDESS file names (the 5th
field is the statement: 01 = "Kids are talking by the door", 02 = "Dogs are
sitting by the door"; the 7th is the actor), a `labels.csv` with `file` and
`text` (or `statement`) columns and optionally `speaker`, or a `NAME.txt`
next to each `NAME.wav`/`NAME.flac`. The split is by speaker, fixed before any
tuning: RAVDESS actors 03, 06, 12, 15, 21 and 24 (three men, three women) are
the test part; other speakers go to it by a stable hash (one in three).
"""

from __future__ import annotations

import csv
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from companion.errors import AudioFormatError

RAVDESS_STATEMENTS = {"01": "kids are talking by the door", "02": "dogs are sitting by the door"}
TEST_ACTORS = frozenset({"03", "06", "12", "15", "21", "24"})  # never tuned on
AUDIO_SUFFIXES = (".wav", ".flac")
_RAVDESS_NAME = re.compile(r"^\d\d-\d\d-\d\d-\d\d-(\d\d)-\d\d-(\d\d)$")


@dataclass(frozen=True)
class Labelled:
    """One recording and what was said in it."""

    path: Path
    text: str  # normalised: lower case, words only
    speaker: str

    @property
    def split(self) -> str:
        """'test' for the held-apart speakers, else 'train'."""
        if self.speaker.startswith("ravdess-"):
            return "test" if self.speaker.removeprefix("ravdess-") in TEST_ACTORS else "train"
        return "test" if zlib.crc32(self.speaker.encode()) % 3 == 0 else "train"


def words(text: str) -> list[str]:
    """Lower-case words, digits and apostrophes kept (how every recogniser's text is compared)."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words): Levenshtein over words."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)], len(ref)


def labelled_recordings(directory: str | Path) -> list[Labelled]:
    """Every labelled recording in `directory` (see the module docstring for the label formats)."""
    root = Path(directory)
    if not root.is_dir():
        raise AudioFormatError(f"{root}: no such folder of recordings")
    table: dict[str, tuple[str, str]] = {}
    labels = root / "labels.csv"
    if labels.is_file():
        with labels.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                text = row.get("text") or row.get("statement") or ""
                if row.get("file") and text:
                    table[row["file"]] = (text, row.get("speaker") or "")
    found = []
    for path in sorted(p for p in root.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES):
        m = _RAVDESS_NAME.match(path.stem)
        if path.name in table:
            text, speaker = table[path.name]
            speaker = f"ravdess-{m.group(2)}" if m else (speaker or path.stem)
        elif m and m.group(1) in RAVDESS_STATEMENTS:
            text, speaker = RAVDESS_STATEMENTS[m.group(1)], f"ravdess-{m.group(2)}"
        elif path.with_suffix(".txt").is_file():
            text, speaker = path.with_suffix(".txt").read_text(encoding="utf-8"), path.stem
        else:
            continue
        found.append(Labelled(path, " ".join(words(text)), speaker))
    if not found:
        raise AudioFormatError(f"{root}: no labelled recordings (RAVDESS names, labels.csv, or NAME.txt beside "
                             "NAME.wav/NAME.flac)")
    return found
