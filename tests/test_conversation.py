"""The one state machine: legal paths, ignored races, listeners."""

from __future__ import annotations

from companion.loop.conversation import Conversation, Trigger
from companion.loop.events import Source, State


def test_a_whole_turn_with_follow_up_and_mute():
    c = Conversation()
    seen: list[tuple[State, State]] = []
    c.add_listener(lambda prev, cur: seen.append((prev, cur)))
    assert c.fire(Trigger.WAKE, Source.BUTTON) and c.state is State.LISTENING
    assert c.listening_source is Source.BUTTON
    assert c.fire(Trigger.SPEECH_ENDED) and c.state is State.THINKING
    assert c.fire(Trigger.SPEAKING) and c.state is State.SPEAKING
    assert c.fire(Trigger.REPLY_DONE) and c.state is State.LISTENING
    assert c.listening_source is Source.FOLLOW_UP  # no wake word needed now
    assert c.fire(Trigger.NO_SPEECH) and c.state is State.IDLE
    assert c.fire(Trigger.MUTE) and c.state is State.MUTED
    assert not c.fire(Trigger.WAKE)  # a muted microphone does not wake
    assert c.fire(Trigger.UNMUTE) and c.state is State.IDLE
    assert seen[0] == (State.IDLE, State.LISTENING) and seen[-1] == (State.MUTED, State.IDLE)


def test_barge_in_and_errors_and_ignored_races():
    c = Conversation()
    assert not c.fire(Trigger.SPEAKING)  # nothing to speak: ignored, no change
    assert not c.fire(Trigger.BARGE_IN)
    c.fire(Trigger.ANNOUNCE)
    c.fire(Trigger.SPEAKING)
    assert c.fire(Trigger.BARGE_IN) and c.state is State.LISTENING
    assert c.fire(Trigger.ERROR) and c.state is State.IDLE
    c.add_listener(lambda prev, cur: 1 / 0)  # a broken LED must not break the conversation
    assert c.fire(Trigger.WAKE) and c.state is State.LISTENING
