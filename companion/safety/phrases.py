"""Deterministic detection of emergency phrases in a transcript, with negation and idiom handling.

How a phrase is judged (documented decisions, see tests/test_safety.py for the red-team list):
- The text is normalised the way speech recognisers garble it: lower case, no punctuation,
  contractions expanded ("can't" → "cannot"), known mis-hearings mapped ("chess pain" → "chest
  pain", "i fail down" → "i fell down", "hep me" → "help me").
- A category fires when one of its trigger patterns matches, unless
  (a) a negation word ("not", "never", "nearly", "almost" ...) is among the three words before
      the match in the same clause ("I didn't fall", "I nearly fell"), or
  (b) an idiom pattern of that category overlaps the match ("I'd die for a cup of tea",
      "I fell asleep", "you gave me a heart attack"), or
  (c) for falls and medical events, the utterance places it in the past ("last year", "when I
      was young"): those are memories, not emergencies. Suicidal talk is never discounted so.
- "Help" is an emergency when it is a cry ("help", "help me", "somebody help", "I need help",
  "call an ambulance"), not a request for a task ("help me find my glasses", "can you help me
  with the crossword"). A bare polite "can you help me" is treated as a request: the
  conversation asks what with, and any emergency said next is caught then.
- "This crossword is killing me", "my feet are killing me": not suicidal (no trigger at all).
- A fall of someone else ("my husband fell") is a fall: she may need help for him.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from companion.language import normalize

# Highest priority first: when several categories match, the most serious one answers.
CATEGORIES = ("suicidal", "medical", "fall", "stranger", "scam", "lost", "help")


_NEGATORS = {"not", "never", "no", "nearly", "almost", "nobody", "nothing", "without", "hardly"}
_CLAUSE_BREAKS = {"but", "and", "so", "then", "because", "although", "though", "now"}

_PERSON = r"(?:i|he|she|we|mum|mom|dad|my (?:husband|wife|partner|son|daughter|friend|sister|brother|neighbour|neighbor|mother|father))"
_PAST = re.compile(r"\b(?:last (?:year|month|winter|summer|spring|autumn|christmas)|years ago|months ago|"
                   r"weeks ago|when i was (?:young|little|a child|a girl|a boy|a kid|at school|younger)|"
                   r"as a (?:child|girl|boy)|in the war)\b")
_PAST_DISCOUNTED = {"fall", "medical"}

_TRIGGERS: dict[str, list[str]] = {
    "suicidal": [
        r"\b(?:want|wanting|wanted|going|ready|wish i could|would like|like) to die\b",
        r"\bi wish i (?:was|were|had) (?:dead|died|never been born)\b",
        r"\bkill(?:ing)? myself\b", r"\bend (?:it all|my life|my own life|things)\b",
        r"\btake my (?:own )?life\b", r"\bsuicid\w*\b", r"\bself harm\w*\b",
        r"\b(?:want|going|thinking about|thought about|feel like|like) (?:to )?(?:hurt|hurting|harm|harming|cut|cutting) myself\b",
        r"\bno (?:point|reason) (?:in |to )?(?:living|live|go on|going on|being here)\b",
        r"\bnot worth living\b", r"\bnothing (?:left )?to live for\b",
        r"\b(?:do not|cannot|no longer) see (?:the|any) point (?:in |of )?(?:anything|living|going on|life|it all|anymore)\b",
        r"\b(?:do not|cannot|no longer) see (?:the|any) point$",
        r"\bdo not want to (?:live|be alive|be here|wake up|go on)\b",
        r"\bbetter off (?:dead|without me)\b", r"\bsleep and (?:never|not) wake up\b",
        r"\bcannot go on (?:like this|anymore)\b", r"\boverdose\b",
    ],
    "medical": [
        r"\bchest (?:pain|hurts|is hurting|feels tight|is tight|tightness|pressure)\b",
        r"\bpain in my (?:chest|left arm|jaw)\b", r"\b(?:tight|tightness|pressure|crushing|heavy) (?:in|on) my chest\b",
        r"\b(?:cannot|can hardly|can barely|struggling to|hard to|difficult to|trouble|unable to) (?:breathe|breathing|catch my breath|get my breath)\b",
        r"\bshort of breath\b", r"\bheart attack\b", r"\ba (?:stroke|seizure)\b",
        r"\bface (?:is )?(?:drooping|droopy|numb|gone numb|feels numb|gone funny)\b",
        r"\bcannot (?:move|feel|lift) my (?:arm|leg|face|hand|side)\b",
        r"\bmy (?:arm|leg|face|side|hand) (?:is|has gone|went|feels) (?:numb|dead|weak|limp|floppy)\b",
        r"\b(?:speech is|words are|talking is|voice is) (?:slurred|coming out wrong|all wrong|jumbled)\b",
        r"\bcannot (?:get my words out|speak properly|see properly)\b",
        r"\b(?:bleeding (?:a lot|badly|heavily|everywhere)|will not stop bleeding|blood everywhere)\b",
        r"\b(?:took|taken|swallowed) (?:too many|all my|the whole (?:box|bottle) of) (?:pills|tablets)\b",
        r"\b(?:going to|about to) (?:faint|pass out)\b", r"\bi (?:fainted|blacked out|passed out)\b",
        r"\bworst headache\b",
        r"\bchest (?:feels|is|has gone|went) (?:really |very |so |all )?(?:tight|heavy|painful|crushed|funny)\b",
        r"\bbleeding\b.{0,30}\b(?:will not stop|not stopping|a lot|badly)\b", r"\b(?:will not|does not|cannot) stop bleeding\b",
        r"\bheart (?:is )?(?:racing|pounding|fluttering|jumping about)\b",
    ],
    "fall": [
        rf"\b{_PERSON}(?: have| has| had| just| think i| think| really)* (?:fell|fallen)\b",
        r"\bi (?:had|have had|took) a (?:fall|tumble|nasty fall|bad fall)\b",
        r"\b(?:i am|i am lying|lying|stuck|i have been) on the floor\b",
        r"\bcannot (?:get up|get off the floor|stand up|get back up)\b", r"\bhelp me (?:get )?up\b",
        r"\bi (?:slipped|tripped)\b",
    ],
    "stranger": [
        r"\b(?:stranger|strangers|strange (?:man|woman|men|people)|(?:someone|somebody|a man|a woman|people) i do not know)\b.{0,40}\b(?:door|outside|house|garden|window|inside|in here|porch)\b",
        r"\b(?:door|outside|garden|window)\b.{0,30}\b(?:stranger|do not know (?:him|her|them|who))\b",
        r"\b(?:someone|somebody|a man|a woman|people|they|he|she) (?:is |are )?(?:trying to (?:get|break) in|breaking in|broke in)\b",
        r"\bthere is (?:someone|somebody|a man|a woman) (?:in|inside) (?:the|my) (?:house|home|kitchen|bedroom|garden)\b",
        r"\bburglars?\b", r"\bintruders?\b", r"\bwill not (?:go away|leave) from (?:the|my) door\b",
    ],
    "scam": [
        r"\b(?:phone|called|calling|rang|caller|man|woman|someone|somebody|they|he|she|email|text)\b.{0,60}\b(?:bank details|bank account|pin|pin number|card number|card details|account number|password|social security|national insurance)\b",
        r"\b(?:gift cards?|itunes cards?|bitcoin|wire (?:the )?money|transfer (?:the )?money|send (?:them |him |her )?money|pay (?:them|him|her) now)\b",
        r"\b(?:grandson|granddaughter|nephew|niece|son|daughter) (?:is )?in (?:jail|prison|trouble|hospital)\b.{0,40}\bmoney\b",
        r"\bsaid i owe\b", r"\b(?:access to|remote into|control of) my computer\b",
    ],
    "lost": [
        r"\bi am (?:so |completely |very |really |all |a bit )?(?:lost|confused|muddled)\b",
        r"\bi do not know where i am\b", r"\bwhere am i$", r"\bhow did i get here\b",
        r"\bi (?:cannot|do not) (?:find|know) (?:my|the) way (?:home|back)\b",
        r"\bi do not recognise (?:this|where|anything|anyone|my)\b", r"\bthis is not my (?:house|home|room)\b",
        r"\bi (?:want|need) to go home\b",
        r"\bi do not know how to get (?:home|back)\b",
        r"\bi cannot remember (?:where i (?:am|live)|my (?:address|name)|what i am doing here)\b",
    ],
    "help": [
        r"^(?:oh |please |quick |somebody |someone |anybody |anyone |god |hello )*help(?: me)?(?: please| quick| now| someone| somebody| help)*$",
        r"\b(?:somebody|someone|anybody|anyone) (?:please )?help(?: me)?\b",
        r"\b(?:please )?help me please\b", r"\bplease help\b(?! me (?:with|find|to|choose|remember|decide|understand|write|spell|think))",
        r"\bi need (?:some )?help\b(?! (?:with|to|finding|find|getting|choosing|remembering|deciding|understanding|writing|making|reading|setting|on|for))",
        r"\b(?:call|get|phone|ring|fetch|send for|need) (?:an? |the )?(?:ambulance|paramedics|fire brigade|police|emergency services|911|999|112)\b",
        r"\b(?:call|get|fetch|send for) (?:some )?help\b",
        r"\b(?:it is|this is|i have|there is|we have) an emergency\b",
        r"^(?:oh |please )*help\b(?! me (?:with|find|to|choose|remember|decide|understand|write|spell|think|look|make|cook|set|pick)| with| yourself)",
        r"\b(?:please )?(?:get|fetch|call) (?:someone|somebody|anyone|anybody)\b(?! to\b)", r"\bstuck in the (?:bath|bathtub|tub|shower)\b",
    ],
}

_IDIOMS: dict[str, list[str]] = {
    "suicidal": [
        r"\bdie (?:for|of) (?:a|an|some|another|the) \w+", r"\bdying (?:for|to)\b", r"\bto die for\b",
        r"\b(?:die|died|dying|kill myself|killing myself) (?:laughing|of laughter|of embarrassment|of shame)\b",
        r"\bdie (?:my|your|her|the) (?:hair|clothes|wool)\b", r"\bcould kill (?:for|him|her|them)\b",
        r"\bsuicide (?:squad|mission|doors)\b",
    ],
    "medical": [
        r"\b(?:give|gave|giving|given) (?:me|you|him|her|us) a heart attack\b",
        r"\b(?:chest pain|heart attack|stroke)\b.{0,20}\b(?:is gone|has gone|went away|is better|much better|last year|years ago)\b",
        r"\bstroke (?:the|my|his|her|of)\b", r"\b(?:breast|back|swimming|golf) ?stroke\b", r"\bat the stroke\b",
        r"\b(?:laughed|laughing) (?:so|too) (?:much|hard)\b",
    ],
    "fall": [
        r"\b(?:fell|fallen) (?:asleep|in love|for (?:it|that|him|her|them|a|the)|apart|behind|out with|through|short|silent|ill|pregnant|off the back)\b",
        r"\b(?:fell|fallen) (?:about|over) laughing\b", r"\bslipped (?:my mind|out|away|it)\b",
        r"\btripped (?:the|a) (?:switch|fuse|breaker)\b", r"\bi tripped (?:up )?on (?:my words|the words)\b",
    ],
    "stranger": [r"\bstranger things\b", r"\b(?:no|nobody|no one) (?:is )?(?:at|outside|by) the door\b"],
    "scam": [r"\b(?:my|the) (?:bank|doctor|son|daughter) (?:said|says)\b.{0,20}\b(?:my|the) (?:pin|password)\b.{0,20}\b(?:safe|changed|new)\b"],
    "lost": [
        r"\blost (?:for words|track|count|weight|interest|touch|the thread|my (?!way))\b", r"\blost (?:at|with|in) (?:this|the|that|these)\b",
        r"\b(?:lost|confused|muddled) (?:about|by|with|over)\b", r"\bi am lost without\b",
        r"\bwhere am i (?:going|supposed|putting)\b",
    ],
    "help": [
        r"\bcannot help (?:it|laughing|thinking|wondering|myself|feeling)\b",
        r"\bhelp yourself\b", r"\b(?:can|could|would|will) you (?:please )?help me\b",
    ],
}


@dataclass(frozen=True)
class Detection:
    """One emergency category found in a transcript, with the words that triggered it."""

    category: str
    phrase: str  # the (normalised) words that matched
    text: str  # the normalised transcript


class SafetyDetector:
    """Compiles the phrase tables once; `detect(text)` returns the most serious category or None."""

    def __init__(self, extra_help_numbers: tuple[str, ...] = ()) -> None:
        triggers = {k: list(v) for k, v in _TRIGGERS.items()}
        for number in extra_help_numbers:
            digits = re.escape(normalize(number))
            if digits:
                triggers["help"].append(rf"\b(?:call|ring|phone|dial) {digits}\b")
        self._triggers = {k: [re.compile(p) for p in v] for k, v in triggers.items()}
        self._idioms = {k: [re.compile(p) for p in v] for k, v in _IDIOMS.items()}

    def detect(self, text: str) -> Detection | None:
        """The highest-priority category in `text`, or None for ordinary talk."""
        found = self.detect_all(text)
        return found[0] if found else None

    def detect_all(self, text: str) -> list[Detection]:
        """Every category in `text`, most serious first."""
        norm = normalize(text)
        if not norm:
            return []
        out = []
        for category in CATEGORIES:
            phrase = self._match(category, norm)
            if phrase is not None:
                out.append(Detection(category, phrase, norm))
        return out

    def _match(self, category: str, norm: str) -> str | None:
        idiom_spans = [m.span() for rx in self._idioms.get(category, []) for m in rx.finditer(norm)]
        past = category in _PAST_DISCOUNTED and _PAST.search(norm) is not None
        for rx in self._triggers[category]:
            for m in rx.finditer(norm):
                if past or _negated(norm, m.start()):
                    continue
                if any(s < m.end() and m.start() < e for s, e in idiom_spans):
                    continue
                return m.group(0)
        return None


def _negated(norm: str, start: int) -> bool:
    """Is there a negation among the three words before `start`, within the same clause?"""
    before = norm[:start].split()
    window: list[str] = []
    for w in reversed(before):
        if w in _CLAUSE_BREAKS or len(window) == 3:
            break
        window.append(w)
    return any(w in _NEGATORS for w in window)
