"""Reply generation on the real gemma3-270m: cached persona prefix, sentence streaming, output guard."""

from __future__ import annotations

import threading

from companion.voice.llm import ROLE_MARKERS, Generation, SentenceGuard


def test_the_persona_prefix_stays_in_the_kv_cache_between_turns(models):
    llm = models.llm
    prefix_tokens = llm._llama.tokenize(llm.prefix().encode("utf-8"))
    for text in ("I baked bread this morning.", "My grandson is visiting on Sunday."):
        gen = Generation()
        sentences = list(llm.stream(text, context="It is Saturday morning, 10:15.", gen=gen))
        assert sentences and all(s.strip() for s in sentences)
        cached = list(llm._llama._input_ids[:len(prefix_tokens)])
        assert cached == list(prefix_tokens)  # the next turn re-evaluates only what follows the persona
        assert gen.first_token_ms is not None and gen.tokens <= llm.settings.max_reply_tokens


def test_generation_stops_at_once_when_cancelled(models):
    cancel = threading.Event()
    cancel.set()
    gen = Generation()
    out = list(models.llm.stream("Tell me a long story about the sea.", cancel=cancel, gen=gen))
    assert gen.stopped == "cancelled" and gen.tokens <= 1 and out == []


def test_degenerate_output_is_cut_or_replaced():
    guard = SentenceGuard("what is the weather like today", ["It is sunny. Shall we go out?"])
    assert guard.accept("What is the weather like today?") == ""  # echoing her
    assert guard.accept("It is sunny.") == ""  # repeating the last reply
    assert guard.accept("  **Lovely**   morning! ") == "Lovely morning!"
    long = " ".join(["word"] * 60) + "."
    assert len(guard.accept(long).split()) == 40
    assert guard.give_up is False
    guard.accept("It is sunny.")
    assert guard.give_up  # three rejects: stop generating
    marker = ROLE_MARKERS.search("That sounds nice. User: and then")
    assert marker and "That sounds nice. User: and then"[:marker.start()] == "That sounds nice. "
    assert ROLE_MARKERS.search("Lovely. <end_of_turn>") and ROLE_MARKERS.search("(Notes for Companion: x)")
    import companion.voice.llm as llm

    assert not hasattr(llm, "SAFE_LINE")  # "I lost my train of thought" is gone: the reply flow has its own words


def test_a_follow_up_question_from_each_strategy_prefix_restored_from_its_kv_state(models):
    llm = models.llm
    assert all(strategy in llm.states for strategy in llm.prompts.strategies)  # evaluated at start-up
    for strategy, text, ack in (("chat", "I made soup for lunch.", "That sounds tasty."),
                                ("invite_story", "We used to go hop picking in Kent.", "What a thing to remember."),
                                ("chat", "I've been doing the crossword.", "Oh, that's nice.")):
        gen = Generation()
        question = llm.follow_up(strategy, text, ack, gen=gen)
        prefix = llm._llama.tokenize(llm.strategy_prefix(strategy).encode("utf-8"))
        assert list(llm._llama._input_ids[:len(prefix)]) == list(prefix)  # the strategy's prefix was reused
        assert gen.stopped in ("sentence", "not_a_question", "max_tokens", "eos")
        assert question == "" or (question.endswith((".", "?", "!")) and gen.tokens <= 28)
