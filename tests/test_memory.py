"""The memory skill end to end: remember, recall after restart, confirm, forget for real, retention."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from memory_helpers import START, say, turn

from companion.clock import ManualClock
from companion.config import MemorySettings
from companion.loop.skills import TurnRecord
from companion.memory.extract import llm_extractor
from companion.memory.skill import MemorySkill
from companion.store.journal import FACTS, TurnRow
from companion.store.store import Store

ROOT = Path(__file__).resolve().parents[1]


def on_disk(directory: Path) -> str:
    """Every byte the store keeps on disk (memory file, journal, daily copies...), lower case."""
    return " ".join(p.read_bytes().decode("latin-1").lower() for p in sorted(directory.rglob("*")) if p.is_file())


def facts(directory: Path) -> list[dict]:
    """The facts as another process sees them."""
    with Store.open(directory) as other:
        return other.all(FACTS)


def make(tmp_path: Path, **settings) -> tuple[MemorySkill, ManualClock, Store]:
    clock = ManualClock(START)
    store = Store.open(tmp_path)
    return MemorySkill(store, MemorySettings(**settings), clock), clock, store


SESSION = textwrap.dedent("""
    import sys
    from datetime import datetime, timezone
    sys.path[:0] = [{root!r}, {tests!r}]
    from companion.clock import ManualClock
    from companion.config import MemorySettings
    from companion.memory.skill import MemorySkill
    from companion.store.store import Store
    from memory_helpers import say, turn
    clock = ManualClock(datetime.fromisoformat(sys.argv[2]))
    store = Store.open(sys.argv[1])
    skill = MemorySkill(store, MemorySettings(), clock)
    for text in sys.argv[3:-1]:
        say(skill, text, clock)
    print(skill.context(turn(sys.argv[-1], clock)))
    store.close()
""")


def run_session(directory: Path, when: str, *utterances: str) -> str:
    code = SESSION.format(root=str(ROOT), tests=str(ROOT / "tests"))
    out = subprocess.run([sys.executable, "-c", code, str(directory), when, *utterances],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_fact_told_in_one_process_reaches_the_prompt_after_restart(tmp_path: Path) -> None:
    run_session(tmp_path, "2024-06-10T09:00:00+00:00", "my name is margaret",
                "my daughter susan lives in york", "I have a cat called Max", "")
    context = run_session(tmp_path, "2024-06-12T09:00:00+00:00", "how is susan getting on")
    assert "Her name is Margaret." in context
    assert "Her daughter Susan lives in York." in context
    unrelated = run_session(tmp_path, "2024-06-12T10:00:00+00:00", "what a windy day")
    assert "Susan" in unrelated and "Max" not in unrelated  # closest family always; the cat only when relevant
    assert "Max" in run_session(tmp_path, "2024-06-12T10:00:00+00:00", "the cat is sleeping on my bed")


def test_update_replaces_rather_than_duplicates(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "my daughter susan lives in york", clock)
    say(skill, "susan moved to leeds last month", clock)
    say(skill, "my grandson tom is eleven", clock)
    say(skill, "tom is twelve now", clock)
    people = {f["subject"]: f for f in facts(tmp_path) if f["kind"] == "person"}
    assert sorted(people) == ["Susan", "Tom"]
    assert people["Susan"]["attrs"] == {"lives_in": "Leeds"} and people["Susan"]["relation"] == "daughter"
    assert people["Tom"]["attrs"]["age"] == 12
    say(skill, "i like gardening", clock)
    say(skill, "i don't like gardening any more", clock)
    tastes = [(f["kind"], f["subject"]) for f in facts(tmp_path) if f["kind"] in ("like", "dislike")]
    assert tastes == [("dislike", "gardening")]


def test_health_facts_wait_for_her_yes(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    reply, _ = say(skill, "I take metformin in the morning", clock)
    assert reply is not None and reply.expect_answer
    assert reply.text == "Shall I remember that you take metformin in the morning?"
    assert not any(f["kind"] == "medication" for f in facts(tmp_path))
    reply, _ = say(skill, "no thank you", clock)
    assert reply.intent == "memory.declined"
    assert "metformin" not in on_disk(tmp_path)  # not as a fact, not in the conversation log
    say(skill, "i have arthritis", clock)
    reply, _ = say(skill, "yes please", clock)
    assert reply.intent == "memory.remembered"
    assert [(f["kind"], f["subject"]) for f in facts(tmp_path)] == [("health", "arthritis")]


def test_unanswered_question_lapses(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "i owe my son twenty pounds", clock)
    reply, _ = say(skill, "what a lovely morning it is", clock)  # she moved on
    assert reply is None
    assert say(skill, "yes", clock)[0] is None  # a late yes stores nothing
    assert facts(tmp_path) == []


def test_forget_that_deletes_the_last_memory_from_disk(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "my daughter susan lives in york", clock)
    say(skill, "my grandson tom is twelve", clock)
    reply, _ = say(skill, "forget that", clock)
    assert reply.text == "Shall I forget that your grandson Tom is 12?"
    assert re.search(r"\btom\b", on_disk(tmp_path))  # nothing deleted before she says yes
    reply, _ = say(skill, "yes", clock)
    assert reply.intent == "memory.forgotten"
    assert not re.search(r"\btom\b", on_disk(tmp_path))
    assert "susan" in on_disk(tmp_path)


def test_forget_that_after_an_update_restores_the_old_fact(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "my daughter susan lives in york", clock)
    say(skill, "susan moved to leeds", clock)
    say(skill, "forget that", clock)
    say(skill, "yes", clock)
    assert "leeds" not in on_disk(tmp_path)
    assert [f["attrs"] for f in facts(tmp_path)] == [{"lives_in": "York"}]


def test_forget_about_susan_removes_everything_about_her(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "my daughter susan lives in york", clock)
    say(skill, "susan is coming to visit on saturday", clock)
    say(skill, "yesterday susan and i walked along the river and had fish and chips", clock)
    say(skill, "I have a cat called Max", clock)
    reply, _ = say(skill, "forget about susan", clock)
    assert reply.text.startswith("I'll forget 3 things about Susan: that your daughter Susan lives in York; ")
    assert reply.text.endswith("plus 3 conversations that mention Susan — all right?")
    reply, _ = say(skill, "yes", clock)
    assert reply.intent == "memory.forgotten"
    assert "susan" not in on_disk(tmp_path)
    assert [f["subject"] for f in facts(tmp_path)] == ["Max"]
    assert "Susan" not in skill.context(turn("how is susan", clock))


def test_no_means_keep(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "I have a cat called Max", clock)
    say(skill, "forget about max", clock)
    reply, _ = say(skill, "no", clock)
    assert reply.intent == "memory.forget_cancelled" and facts(tmp_path)[0]["subject"] == "Max"


def test_what_do_you_remember_reads_back_without_the_llm(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    assert "don't know much" in say(skill, "what do you remember about me", clock)[0].text
    for text in ("my name is margaret", "please call me peggy", "my daughter susan lives in leeds",
                 "I have a cat called Max", "i love gardening", "i really like frank sinatra"):
        say(skill, text, clock)
    reply, _ = say(skill, "What do you remember about me?", clock)
    assert reply.intent == "memory.summary"
    assert reply.text.startswith("Here's what I remember. Your name is Margaret. You like to be called Peggy.")
    assert "Your daughter Susan lives in Leeds." in reply.text and "You like gardening and frank sinatra." in reply.text
    assert skill.profile_name() == "Peggy"


def test_pins_are_never_stored(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    reply, _ = say(skill, "my pin is four three two one", clock)
    assert reply.intent == "memory.secret_refused"
    assert "four three" not in on_disk(tmp_path)


def test_retention_purges_old_turns_but_keeps_facts(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path, retention_days=30)
    say(skill, "my daughter susan lives in leeds", clock)
    clock.advance(days=20)
    say(skill, "it is raining again today", clock)
    clock.advance(days=11)
    assert skill.purge_expired(clock.now()) == 1
    assert [t.user for t in store.journal.all(TurnRow)] == ["it is raining again today"]
    assert facts(tmp_path)[0]["subject"] == "Susan"
    clock.advance(days=25)
    say(skill, "hello", clock)  # the daily purge runs by itself
    assert [t.user for t in store.journal.all(TurnRow)] == ["hello"]


def test_turn_log_matches_the_shared_contract(tmp_path: Path) -> None:
    skill, clock, store = make(tmp_path)
    skill.after_turn(TurnRecord(text="hello there", reply="Hello!", intent=None, at=clock.now(),
                                emotion={"category": "happy", "valence": 0.6}, timings_ms={"stt": 120.0}))
    (t,) = store.journal.all(TurnRow)
    assert isinstance(t, TurnRow) and t.id == 1 and t.at == clock.now() and t.user == "hello there"
    assert t.reply == "Hello!" and t.emotion["category"] == "happy" and t.timings_ms == {"stt": 120.0}


def test_context_stays_within_the_token_budget(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path, context_tokens=40)
    for text in ("my name is margaret", "my daughter susan lives in leeds and is a nurse",
                 "my son peter lives in canada", "my husband bill is eighty", "i love gardening and roses"):
        say(skill, text, clock)
    context = skill.context(turn("tell me about gardening", clock))
    assert 0 < len(context) <= 40 * 4
    assert "Margaret" in context


def test_another_process_forgetting_is_seen_by_the_running_skill(tmp_path: Path) -> None:
    skill, clock, _ = make(tmp_path)
    say(skill, "I have a cat called Max", clock)
    assert "Max" in skill.context(turn("how is the cat", clock))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from companion.clock import SystemClock
        from companion.memory.book import MemoryBook
        from companion.store.store import Store
        book = MemoryBook(Store.open({str(tmp_path)!r}), SystemClock())
        book.remove(book.about("max"))
    """)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Max" not in skill.context(turn("how is the cat", clock))


def test_llm_extractor_hook_adds_facts_but_never_sensitive_ones(tmp_path: Path) -> None:
    def complete(prompt: str) -> str:  # a stand-in for a capable instruct model
        assert "Speaker: i spent the war in cornwall" in prompt
        return ('{"kind": "note", "subject": "war years in Cornwall", "relation": "", "attrs": {}}\n'
                '{"kind": "health", "subject": "asthma"} not json {')

    clock = ManualClock(START)
    store = Store.open(tmp_path)
    skill = MemorySkill(store, MemorySettings(llm_extract=True), clock, extractor=llm_extractor(complete))
    say(skill, "i spent the war in cornwall", clock)
    assert [(f["kind"], f["subject"]) for f in facts(tmp_path)] == [("note", "war years in Cornwall")]
