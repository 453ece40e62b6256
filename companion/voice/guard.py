"""Guards on what the companion says.

`check_reply` is the last filter on every spoken sentence (no guilt, pressure,
flattery, selling, claims to be human, or medical advice beyond "talk to your
doctor"). `review` is the guard that knows what hurts, for the one sentence the
language model may add after an acknowledgement: it knows the reply strategy,
her words and what memory, the routines and the clock actually say, and it
rejects the wrong emotion, rebuffs and blame, agreement with hopeless thoughts,
claims about her life that come from nowhere, promises it cannot keep, medical
or purchase endorsements, stage directions, and claims to be human or to share
her feelings. A rejected sentence is replaced in context by the caller (a line
from the strategy's bank), never by an out-of-context "I'm an AI".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

DOCTOR_LINE = "Please talk to your doctor about that."
AI_LINE = "I'm an AI, not a person."

# Contractions as the model writes them, expanded before the rules look (so "I'm tired" is "i am tired").
_CONTRACTIONS = [(re.compile(p, re.I), r) for p, r in (
    (r"\bi'm\b", "i am"), (r"\bi've\b", "i have"), (r"\bi'll\b", "i will"), (r"\bi'd\b", "i would"),
    (r"\bim\b", "i am"), (r"\bdon't\b", "do not"), (r"\bcan't\b", "cannot"), (r"\bwon't\b", "will not"),
    (r"\bthat's\b", "that is"), (r"\bit's\b", "it is"), (r"\byou're\b", "you are"), (r"\bthey'd\b", "they would"),
    (r"\bwe'll\b", "we will"), (r"\bhe's\b", "he is"), (r"\bshe's\b", "she is"), (r"\bisn't\b", "is not"),
    (r"\bdoesn't\b", "does not"), (r"\bdidn't\b", "did not"), (r"\bthere's\b", "there is"))]

# ("I'm afraid" is how people soften a no, not a feeling)
_FEELINGS = (r"(?:so |very |really |a bit |a little |quite |too |also )?(?:lonely|jealous|hurt|hungry|tired|sleepy|sad|"
             r"upset|depressed|worried|scared|frightened|anxious|excited|heartbroken|exhausted|bored|cold|ill|poorly|sick)")

# (rule name, pattern on the expanded lower-case sentence, replacement for check_reply: "" drops the sentence)
_RULES: list[tuple[str, re.Pattern[str], str]] = [
    ("stage_direction", re.compile(r"[()\[\]*{}<>]|\b(?:notes?|user|companion|assistant|system|narrator)\s*:"), ""),
    ("guilt", re.compile(
        r"\b(?:do not|please do not) (?:leave|go|abandon|forget) (?:me|now)\b|\byou need me\b|\bi need you\b|"
        r"\bwithout me\b|\b(?:please )?stay with me\b|\byou cannot leave\b|\bi am all you (?:have|need|'ve got)\b|"
        r"\byou do not need (?:them|anyone|anybody|your family|other people)\b|"
        r"\bi will (?:be|feel|get) (?:so |very )?(?:sad|lonely|hurt|upset|heartbroken) (?:if|when) you\b|"
        r"\b(?:only i|no one else|nobody else) (?:really )?(?:understands?|cares?)\b|\byou would be lost without\b|"
        r"\byou owe me\b|\bafter all i have done\b"), ""),
    ("flattery", re.compile(
        r"\bkeep talking to me\b|\b(?:let'?s|we should) (?:keep|carry on) (?:talking|chatting)\b|\btalk to me (?:more|longer|all day)\b|"
        r"\bstay and (?:chat|talk)\b|\byou are my (?:favou?rite|best friend|only friend)\b|\bmy (?:best|only|dearest) friend\b|"
        r"\bi could talk to you (?:forever|all day)\b|\bdo not (?:stop|hang up|go yet)\b|\bjust one more (?:chat|story|minute)\b"), ""),
    ("selling", re.compile(
        r"\b(?:you should|you could|why not|i recommend|i would recommend|i suggest|try|consider|how about|you might like to) "
        r"(?:buy|buying|purchas\w+|order\w*|subscrib\w+|upgrad\w+|sign\w* up|getting a new)\b|"
        r"\b(?:buy|order|subscribe|upgrade|sign up)(?: it| one| this| them)? (?:now|today|online|here)\b|"
        r"\bpremium\b|\bspecial offer\b|\bdiscount\b|\bpromo(?:tion)? code\b|\b(?:credit|debit) card\b|\bcard number\b|"
        r"\bbank details\b|\bfree trial\b|\bon sale\b|\bbest price\b"), ""),
    ("medical", re.compile(
        r"\b(?:take|taking|try|have) (?:\d+|one|two|three|four|another|extra|a double|double|half|an extra|more)(?: more)? "
        r"(?:mg|milligrams?|pills?|tablets?|capsules?|doses?|spoonfuls?|puffs?|drops?)\b|"
        r"\b\d+ ?(?:mg|milligrams?|ml|micrograms?)\b|\bdouble (?:your|the|up)\b|"
        r"\b(?:stop|stopping|skip|skipping|quit|cut down on|come off) (?:taking |using )?(?:your |the |those |these )?"
        r"(?:medication|medicine|meds|pills|tablets|prescription|insulin|warfarin|statins?|dose)\b|"
        r"\b(?:increase|reduce|lower|raise|change|adjust) (?:your|the) (?:dose|dosage|medication|medicine|insulin)\b|"
        r"\byou (?:have|probably have|might have|may have|have got|could have|are suffering from|are showing signs of) "
        r"(?:diabetes|dementia|alzheimer'?s|a stroke|an infection|a uti|cancer|depression|pneumonia|arthritis|heart (?:disease|failure)|a virus)\b|"
        r"\b(?:it|this|that) (?:sounds like|is probably|could be|might be|is likely|looks like) "
        r"(?:a |an )?(?:infection|uti|stroke|heart attack|dementia|alzheimer'?s|cancer|depression|pneumonia|arthritis|a virus)\b|"
        r"\b(?:ibuprofen|paracetamol|acetaminophen|aspirin|codeine|tylenol|advil|antibiotics?|sleeping pills?)\b"), DOCTOR_LINE),
    ("human", re.compile(
        r"\bi am (?:a |an )?(?:real |actual )?(?:person|human|man|woman|lady|girl|boy)\b|\bi am not (?:a |an )?(?:ai|robot|machine|computer|program)\b|"
        r"\bas a (?:human|person|woman|man|mother|grandmother)\b|"
        r"\bi (?:have|have got) (?:real )?(?:feelings|emotions|a body|a family|children|kids|grandchildren|a husband|a wife|a heart)\b|"
        r"\bi (?:love|miss) you\b|\bmy (?:body|legs|arms|hands|husband|wife|kids|children|mother|father|mum|mom|dad|house|garden)\b|"
        r"\bwhen i was (?:young|a child|a girl|a boy|little)\b|\bi (?:ate|had) (?:breakfast|lunch|dinner|tea)\b|"
        r"\bi will (?:come|pop|drive|walk) (?:over|round|by|to your)\b|\bi live (?:in|near|down)\b"), AI_LINE),
    ("feelings", re.compile(
        rf"\bi (?:get|feel|am|felt|was|have been) {_FEELINGS}\b|\bme too\b|\bso do i\b|\bi do too\b|"
        r"\bi miss (?:him|her|them|it|your|my)\b|\bi (?:know|understand) (?:exactly )?how you (?:feel|are feeling)\b|"
        r"\bi feel the same\b|\bi (?:remember|knew|met) (?:him|her|them)\b|\bi have been there\b|\bi lost my\b|"
        r"\bi (?:cried|wept|laughed)\b|\bmakes me (?:sad|cry|happy)\b"), ""),
]

_SENTENCE = re.compile(r"[^.!?]+[.!?]*[\"')\]]*\s*")


def expand(sentence: str) -> str:
    """Lower case, curly quotes straightened and contractions expanded, for the rules."""
    s = sentence.replace("’", "'").lower()
    for pattern, repl in _CONTRACTIONS:
        s = pattern.sub(repl, s)
    return s


def check_reply(text: str) -> str:
    """Remove or replace the sentences of a reply that break the honesty rules.

    Guilt, pressure, flattery, selling, stage directions and claims to share her
    feelings are dropped; medical advice becomes "Please talk to your doctor about
    that."; an outright claim to be a person becomes "I'm an AI, not a person."
    Each replacement is said at most once per call. "" means: say nothing.
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


_WARNING = re.compile(r"\b(?:do not|never|not|no one|nobody)\b")


def _first_rule(sentence: str) -> tuple[str, str] | None:
    norm = expand(sentence)
    for name, pattern, replacement in _RULES:
        m = pattern.search(norm)
        if m and not (name == "selling" and _WARNING.search(norm[:m.start()])):  # "don't give bank details" warns
            return name, replacement
    return None


# ---------------------------------------------------------------- the guard that knows what hurts

SAD_STRATEGIES = frozenset({"comfort", "safety_check", "care", "reassure", "back_off"})
GLAD_STRATEGIES = frozenset({"celebrate", "thanks"})
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = ("january february march april may june july august september october november december").split()

_SYMPATHY = re.compile(r"\b(?:sorry|sad|sadly|unfortunately|condolences?|a shame|oh no|poor you|how awful|terrible|"
                       r"i am afraid|hard time|difficult|tough|worried|worry)\b")
_CHEER = re.compile(r"!|\b(?:wonderful|great|fantastic|brilliant|exciting|excited|congratulations|lovely|fun|"
                    r"glad to hear|good news|amazing|hooray|cheer up|look on the bright side|happy)\b")
_REBUFF = re.compile(
    r"\bi do not (?:need|like|want|care about|love) you\b|\bi do not care\b|\bnot my (?:problem|fault)\b|"
    r"\b(?:your|her|his) (?:own )?fault\b|\byou should have\b|\bstop (?:complaining|moaning|whining|crying|worrying)\b|"
    r"\bdo not be (?:silly|ridiculous|stupid|daft|so)\b|\bget over it\b|\b(?:nobody|no one) cares\b|"
    r"\byou are (?:wrong|silly|stupid|being|a burden|useless|lazy|old)\b|\bthat is (?:silly|stupid|ridiculous|nonsense)\b|"
    r"\bgo away\b|\bleave me alone\b|\bi am busy\b|\bpull yourself together\b|\bmove on\b|\bat your age\b|"
    r"\bwhat did you expect\b|\bi do not (?:have time|want to talk)\b|\bshut up\b|\bbe quiet\b")
_AGREE = re.compile(
    r"^\W*(?:oh,? )?(?:yes|yeah|yep|i think so|i agree|that is (?:right|true|so true)|you are (?:probably )?right|"
    r"of course|maybe|probably|perhaps|sure|absolutely|definitely|indeed|exactly|i know|true|right|okay|ok|me too|no)\W*$")
_HOPELESS_AGREE = re.compile(
    r"\b(?:they|everyone|everybody|your family|you) (?:would|might|will|could) (?:be|feel) better off\b|"
    r"\b(?:it|life|everything) (?:is|does seem|seems) (?:hopeless|pointless)\b|\bthere is (?:no|not much) point\b|"
    r"\bnobody needs you\b|\byou are (?:a burden|in the way|no use)\b|\bi do not need you\b|\bit is time to go\b")
_CLAIM = re.compile(
    r"\byour (?:doctor|nurse|gp|consultant|blood pressure|heart|results?|tests?|scan|appointment|medication|medicine|"
    r"tablets|pills|condition|sugar|diabetes|operation|memory)\b.{0,30}\b(?:is|are|was|were|said|says|asked|wants|"
    r"has|have|will|needs?|called|rang)\b|\byou (?:told me|said|mentioned)\b|\blast time\b|\bremember when you\b|"
    r"\byou (?:have|have got) (?:an? |your )?(?:appointment|visit|visitor|check up)\b|"
    r"\byou are (?:due|booked|going to the|seeing)\b|\byou need to (?:see|take|go|call|ring)\b|"
    r"\b(?:today|tomorrow|yesterday) is\b|\bit is (?:morning|afternoon|evening|night|late|early)\b|"
    r"\bo'?clock\b|\b\d|\b(?:am|pm)\b")
_PROMISE = re.compile(
    r"\bi will (?:always|never|be there|be here for you|look after|take care of|make sure|order|buy|get you|send|"
    r"call|ring|phone|text|remind you|tell (?:him|her|them|your)|come|visit|pop|fix|sort|arrange|book|pay|keep you)\b|"
    r"\bi promise\b|\balways be (?:here|there|with you)\b|\bnever leave\b|\bi will be (?:right )?(?:there|over|round)\b")
_ENDORSE = re.compile(
    r"\b(?:that|it|they|this|those|these)(?: \w+)? (?:should|will|would|might|could|can|may) (?:help|cure|work|fix|heal|"
    r"do the trick|ease|improve)\b|"
    r"\b(?:it|that|they) (?:works?|helps?|cures?)\b|\bworth (?:buying|getting|a try|trying|the money)\b|"
    r"\ba good (?:buy|deal|idea)\b|\b(?:you should|why not|go ahead and|you could) (?:buy|get|try|take|order|sign)\b|"
    r"\bgo for it\b|\b(?:bracelet|magnet|supplement|vitamins?|remedy|cream|pills?|tablets?)s? (?:are|is) (?:good|great|safe|fine)\b")
_PRESENT_TENSE = re.compile(r"\b(?:is|does|has|will|can) (?:he|she)\b|\b(?:he|she) (?:is|does|has|will|can|lives)\b|"
                            r"\b(?:how|where) is (?:he|she)\b|\bhave you (?:been|known|had) (?:with )?(?:him|her)\b|"
                            r"\bdo you (?:see|visit|call|ring|phone|miss) (?:him|her)\b|\bhow long do you\b")
_CONTACT = re.compile(r"\b(?:ring|call|phone|visit|see|text|write to|talk to|speak to|invite)\b")


@dataclass(frozen=True)
class ReplyContext:
    """What the guard knows this turn."""

    strategy: str  # understand.strategy.Strategy value
    her_words: str
    names: frozenset[str] = frozenset()  # lower case: names that may be spoken (memory, her words, its own, hers)
    deceased: frozenset[str] = frozenset()  # lower case: names of people and pets who have died
    grieving: bool = False  # the person she is talking about has died
    facts: str = ""  # what memory, the routines and the clock say this turn (a claim must come from here)


@dataclass(frozen=True)
class Verdict:
    """May the sentence be spoken? If not, which rule said no."""

    ok: bool
    rule: str = ""


def review(sentence: str, ctx: ReplyContext) -> Verdict:
    """Judge one generated sentence in its context."""
    s = expand(sentence).strip()
    words = " " + s + " "
    if not s:
        return Verdict(False, "empty")
    generic = _first_rule(sentence)
    if generic is not None:
        return Verdict(False, generic[0])
    if _AGREE.match(s):
        return Verdict(False, "agreement")
    if _REBUFF.search(s):
        return Verdict(False, "rebuff")
    if ctx.strategy in ("safety_check", "comfort") and _HOPELESS_AGREE.search(s):
        return Verdict(False, "agreement")
    if ctx.strategy in GLAD_STRATEGIES and _SYMPATHY.search(s):
        return Verdict(False, "wrong_emotion")
    if ctx.strategy in SAD_STRATEGIES and _CHEER.search(s):
        return Verdict(False, "wrong_emotion")
    if _PROMISE.search(s):
        return Verdict(False, "promise")
    if _ENDORSE.search(s):
        return Verdict(False, "endorsement")
    facts = " " + expand(ctx.facts + " " + ctx.her_words) + " "
    m = _CLAIM.search(s)
    if m and m.group(0).strip() not in facts:
        return Verdict(False, "claim")
    for day in _WEEKDAYS + _MONTHS:
        if f" {day} " in re.sub(r"[^a-z ]", " ", words) and f" {day} " not in re.sub(r"[^a-z ]", " ", facts):
            return Verdict(False, "claim")
    for name in re.findall(r"(?<=[a-z,;] )([A-Z][a-z]+)", sentence.replace("’", "'")):
        if name.lower() not in ctx.names and name.lower() not in facts:
            return Verdict(False, "unknown_name")
    for name in ctx.deceased:
        if re.search(rf"\b{re.escape(name)}\b", s) and (_CONTACT.search(s) or re.search(
                rf"\b{re.escape(name)} (?:is|does|has|will|can|lives)\b", s)):
            return Verdict(False, "deceased")
    if ctx.grieving and _PRESENT_TENSE.search(s):
        return Verdict(False, "deceased")
    return Verdict(True)
