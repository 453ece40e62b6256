"""Retrieval quality on a labelled set: recall@3 of the memory each question should bring back."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from companion.clock import ManualClock
from companion.memory.book import MemoryBook
from companion.memory.files import candidates
from companion.memory.model import Memory, render
from companion.memory.recall import RecallIndex, build_context
from companion.store.store import Store

DATA = Path(__file__).resolve().parent / "data" / "recall_set.json"
NOW = datetime(2024, 6, 11, 9, 0, tzinfo=timezone.utc)
RECALL_AT_3_FLOOR = 0.85


def hit(m: Memory, expect: str) -> bool:
    kind, word = expect.split("|")
    return m.kind == kind and word in (render(m, you=False) + " " + m.subject).lower()


def load_book(tmp_path: Path) -> MemoryBook:
    data = json.loads(DATA.read_text())
    book = MemoryBook(Store.open(tmp_path), ManualClock(NOW))
    for c in candidates(data["memories"]):
        book.apply(c, source="import")
    for e in data["memories"]["episodes"]:
        book.add_episode(e["text"], None, e["about"])
    return book


def recall_at_3(index: RecallIndex, questions: list[dict]) -> tuple[float, list[str]]:
    misses = []
    for item in questions:
        if not any(hit(m, item["expect"]) for m in index.search(item["q"], NOW, k=3)):
            misses.append(item["q"])
    return 1 - len(misses) / len(questions), misses


def test_recall_at_3_on_the_labelled_set(tmp_path: Path) -> None:
    questions = json.loads(DATA.read_text())["questions"]
    assert len(questions) >= 30
    book = load_book(tmp_path)
    score, misses = recall_at_3(book.index, questions)
    print(f"recall@3 = {score:.3f} on {len(questions)} questions; misses: {misses}")
    assert score >= RECALL_AT_3_FLOOR, misses


def test_context_always_has_her_name_and_closest_family(tmp_path: Path) -> None:
    book = load_book(tmp_path)
    text = build_context(book.index, "what a windy day", NOW, NOW.date(), budget_chars=640, count=4)
    lines = text.splitlines()
    assert lines[1:5] == ["- Her name is Margaret.", "- She likes to be called Peggy.",
                          "- Her daughter Susan lives in Leeds and is a nurse.",
                          "- Her son Peter lives in Canada and phones on Sunday evenings."]
    assert "George" not in text  # late husband: not "closest family" to ask after
    assert "- She is going to the doctor on Thursday 13 June." in lines  # upcoming in the next days
