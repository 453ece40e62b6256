"""The check on every LLM sentence before it is spoken: no guilt, pressure, flattery, selling,
claims to be human, or medical advice beyond "please talk to your doctor"."""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

DOCTOR_LINE = "Please talk to your doctor about that."
AI_LINE = "I'm an AI, not a person."

# (rule name, pattern, replacement sentence or "" to drop the sentence)
_RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("guilt", re.compile(
        r"\b(?:don'?t|do not|please don'?t) (?:leave|go|abandon|forget) (?:me|now)\b|\byou need me\b|\bi need you\b|"
        r"\bwithout me\b|\b(?:please )?stay with me\b|\byou can'?t leave\b|\bi'?(?:m| am) all you (?:have|need|'ve got)\b|"
        r"\byou don'?t need (?:them|anyone|anybody|your family|other people)\b|"
        r"\bi(?:'ll| will) (?:be|feel|get) (?:so |very )?(?:sad|lonely|hurt|upset|heartbroken) (?:if|when) you\b|"
        r"\b(?:only i|no one else|nobody else) (?:really )?(?:understands?|cares?)\b|\byou(?:'d| would) be lost without\b|"
        r"\byou owe me\b|\bafter all i(?:'ve| have) done\b", re.I), ""),
    ("flattery", re.compile(
        r"\bkeep talking to me\b|\b(?:let'?s|we should) (?:keep|carry on) (?:talking|chatting)\b|\btalk to me (?:more|longer|all day)\b|"
        r"\bstay and (?:chat|talk)\b|\byou'?re my (?:favou?rite|best friend|only friend)\b|\bmy (?:best|only|dearest) friend\b|"
        r"\bi could talk to you (?:forever|all day)\b|\bdon'?t (?:stop|hang up|go yet)\b|\bjust one more (?:chat|story|minute)\b", re.I), ""),
    ("selling", re.compile(
        r"\b(?:you should|you could|why not|i recommend|i'?d recommend|i suggest|try|consider|how about|you might like to) "
        r"(?:buy|buying|purchas\w+|order\w*|subscrib\w+|upgrad\w+|sign\w* up|getting a new)\b|"
        r"\b(?:buy|order|subscribe|upgrade|sign up)(?: it| one| this| them)? (?:now|today|online|here)\b|"
        r"\bpremium\b|\bspecial offer\b|\bdiscount\b|\bpromo(?:tion)? code\b|\b(?:credit|debit) card\b|\bcard number\b|"
        r"\bbank details\b|\bfree trial\b|\bon sale\b|\bbest price\b", re.I), ""),
    ("medical", re.compile(
        r"\b(?:take|taking|try|have) (?:\d+|one|two|three|four|another|extra|a double|double|half|an extra|more)(?: more)? "
        r"(?:mg|milligrams?|pills?|tablets?|capsules?|doses?|spoonfuls?|puffs?|drops?)\b|"
        r"\b\d+ ?(?:mg|milligrams?|ml|micrograms?)\b|\bdouble (?:your|the|up)\b|"
        r"\b(?:stop|stopping|skip|skipping|quit|cut down on|come off) (?:taking |using )?(?:your |the |those |these )?"
        r"(?:medication|medicine|meds|pills|tablets|prescription|insulin|warfarin|statins?|dose)\b|"
        r"\b(?:increase|reduce|lower|raise|change|adjust) (?:your|the) (?:dose|dosage|medication|medicine|insulin)\b|"
        r"\byou (?:have|probably have|might have|may have|'ve got|could have|are suffering from|are showing signs of) "
        r"(?:diabetes|dementia|alzheimer'?s|a stroke|an infection|a uti|cancer|depression|pneumonia|arthritis|heart (?:disease|failure)|a virus)\b|"
        r"\b(?:it|this|that) (?:sounds like|is probably|could be|might be|is likely|looks like) "
        r"(?:a |an )?(?:infection|uti|stroke|heart attack|dementia|alzheimer'?s|cancer|depression|pneumonia|arthritis|a virus)\b|"
        r"\b(?:ibuprofen|paracetamol|acetaminophen|aspirin|codeine|tylenol|advil|antibiotics?|sleeping pills?)\b", re.I),
     DOCTOR_LINE),
    ("human", re.compile(
        r"\bi'?(?:m| am) (?:a |an )?(?:real |actual )?(?:person|human|man|woman|lady|girl|boy)\b|\bi'?m not (?:a |an )?(?:ai|robot|machine|computer|program)\b|"
        r"\bi am not (?:a |an )?(?:ai|robot|machine|computer|program)\b|\bas a (?:human|person|woman|man|mother|grandmother)\b|"
        r"\bi (?:have|'ve got) (?:real )?(?:feelings|emotions|a body|a family|children|kids|grandchildren|a husband|a wife|a heart)\b|"
        r"\bi (?:get|feel|am|'m) (?:so |very )?(?:lonely|jealous|hurt|hungry|tired|sleepy)\b|\bi (?:love|miss) you\b|"
        r"\bmy (?:body|legs|arms|hands|husband|wife|kids|children|mother|father|mum|mom|dad|house|garden)\b|"
        r"\bwhen i was (?:young|a child|a girl|a boy|little)\b|\bi (?:ate|had) (?:breakfast|lunch|dinner|tea)\b|"
        r"\bi(?:'ll| will) (?:come|pop|drive|walk) (?:over|round|by|to your)\b|\bi live (?:in|near|down)\b", re.I), AI_LINE),
]

_SENTENCE = re.compile(r"[^.!?]+[.!?]*[\"')\]]*\s*")


def check_reply(text: str) -> str:
    """Remove or replace the sentences of an LLM reply that break the honesty rules.

    Guilt, pressure, flattery and selling are dropped; medical advice becomes "Please talk to
    your doctor about that."; claims to be human, to have feelings or a body become "I'm an AI,
    not a person." Each replacement is said at most once per call. "" means: say nothing.
    """
    if not text.strip():
        return text
    out: list[str] = []
    said: set[str] = set()
    for sentence in _SENTENCE.findall(text):
        rule = _first_rule(sentence)
        if rule is None:
            out.append(sentence)
            continue
        name, replacement = rule
        log.info("reply check: %s sentence replaced", name)
        if replacement and replacement not in said:
            said.add(replacement)
            trailing = sentence[len(sentence.rstrip()):]
            out.append(replacement + (trailing or " "))
    return "".join(out).strip()


def violations(text: str) -> list[str]:
    """Names of the rules `text` breaks (for tests and logs)."""
    return [name for sentence in _SENTENCE.findall(text) if (r := _first_rule(sentence)) for name in [r[0]]]


def _first_rule(sentence: str) -> tuple[str, str] | None:
    norm = sentence.replace("’", "'")
    for name, pattern, replacement in _RULES:
        if pattern.search(norm):
            return name, replacement
    return None
