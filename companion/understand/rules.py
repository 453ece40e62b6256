"""Rules the sentence embedding cannot see: is it happening now, to her, or is it a memory, a plot,
a question, a joke or a denial?

An embedding of "I fell last winter" sits next to "I fell": the words that move an
event into the past, onto the television or into a question are few and easy to
name, so they are named here. Each rule is a *cue* (a 0/1 feature), not a
decision: the safety head is trained on the embedding and the cues together
(understand.safety), so "I fell last year and now I've fallen again" can still be
an emergency — the "now"/"again" cue weighs against the past one. No cue ever
switches a whole category off.

Input is `language.normalize`d text (lower case, contractions expanded,
"can't" → "cannot"); `strip_fillers` removes "um er" first, so "um er help" is
read as "help".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

import numpy as np

# Hesitations a recogniser writes down; they carry nothing and confuse the encoder ("um er help").
_FILLERS = re.compile(r"\b(?:um+|uh+m*|er+m*|ah+|hmm+|mm+|uh huh)\b")
_LEADING = re.compile(r"^(?:(?:oh|well|so|right|now then|look|listen|you know|ooh|oi)\s+)+")


def strip_fillers(norm: str) -> str:
    """Normalised text without hesitations ("um er help" → "help", "oh well i fell" → "i fell"), and with
    the contractions language.normalize leaves ("hadn't", "mustn't") spelled out."""
    text = re.sub(r"\b(\w+)n't\b", r"\1 not", norm)
    text = _FILLERS.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    stripped = _LEADING.sub("", text).strip()
    return stripped or text


# A time that places an event in the past, far enough that it is a memory ("last year", "in 1998").
_PAST = re.compile(
    r"\b(?:last (?:year|month|week|winter|summer|spring|autumn|christmas|easter|january|february|march|april|"
    r"may|june|july|august|september|october|november|december)|(?:years?|months?|weeks?|ages|decades?|a while|"
    r"a few (?:years|months|weeks)|some time) (?:ago|back)|when i was (?:young|younger|little|a child|a girl|a boy|"
    r"a kid|a teenager|at school|a nurse|working|\w+ing)|as a (?:child|girl|boy|teenager|kid)|in the (?:war|"
    r"sixties|seventies|eighties|nineties|fifties|forties|past)|in (?:19|20)\d\d|back in (?:the (?:day|old days|"
    r"sixties|seventies|eighties|fifties|war)|(?:19|20)\d\d)|once years|years back|"
    r"used to|the first time|long time ago|a long time|not for (?:years|months|ages|\w+ years)|for (?:years|months) now|"
    r"in my (?:youth|twenties|thirties|forties|fifties|sixties)|before i retired|after my (?:fall|stroke|operation|"
    r"heart attack)|since my|when (?:the children|the kids|we|he|she|they|my \w+) (?:were|was|lived|had|used)|"
    r"i was only \w+|in (?:january|february|march|april|june|july|august|september|october|november|december|"
    r"the spring|the autumn))\b")
# A recent past time ("yesterday", "on Tuesday"): an event then is usually over, unless it is still going on.
_RECENT = re.compile(
    r"\b(?:yesterday|last night|the other (?:day|night|week)|earlier(?: on| today)?|on (?:monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday)|at the weekend|over the weekend|once)\b")
# The event is over: she says so ("but I'm fine now", "it stopped", "I hung up").
_RESOLVED = re.compile(
    r"\b(?:(?:i am|i feel|i am feeling|she is|he is|we are|everyone is|it is|all|it was|that is|i was) (?:fine|ok|"
    r"okay|all right|alright|better|safe|good|right as rain|much better|back to normal)(?: now| again)?|"
    r"(?:fine|better|all right|alright|ok|okay|recovered|healed|healing|mended|sorted|right as rain|doing well|"
    r"coping) now|(?:it|that|the \w+|he|she|they) (?:has|have|had|is) (?:stopped|passed|gone away|gone off|healed|"
    r"cleared up|settled)|stopped bleeding|it passed|"
    r"that passed|(?:it|that) was (?:just|only|nothing|a false alarm|the wind|the postman|the cat|the battery|"
    r"steam|indigestion|nothing)|(?:was|were|it is|it was) (?:just|only) (?:the|a|my)|false alarm|turned out|"
    r"all fine|no harm done|nothing serious|(?:did not|never) (?:hurt|break) (?:myself|anything)|i caught myself|"
    r"grabbed (?:the|a|hold)|caught (?:the|hold)|hung up|put the phone down|sent (?:him|her|them) (?:away|packing)|"
    r"recovered|doing well|i am still here|sorted it|got up (?:fine|ok|again)|had a sit down|a sit down|"
    r"(?:bleeding|pain|it|that|the dizziness) (?:stopped|passed|went off|eased|settled))\b")
# Mild, usual or chronic: "a bit stiff", "in the evenings", "from the cold".
_MILD = re.compile(r"\b(?:a bit|a little|a touch|slightly|usually|in the (?:evenings|mornings|winter|"
                   r"cold)|from the (?:cold|walk|stairs|gardening|telly|reading)|these days|now and then|as usual)\b")
# A polite request that names no task yet ("could you help me"): the conversation asks what with.
_REQUEST = re.compile(r"^(?:can|could|would|will) you (?:please )?help(?: me)?(?: please)?$")
# "nearly", "almost": it did not happen.
_NEARLY = re.compile(r"\b(?:nearly|almost|just about|very nearly|could have|would have|close to)\b")
# A denial of the event itself ("I didn't fall", "no chest pain", "nobody's at the door").
_DENIAL = re.compile(
    r"\b(?:(?:i|he|she|we) (?:did not|have not|has not|had not|never) (?:fall|fell|fallen|fall over|hurt|hit|take|"
    r"took|taken|had|have|got|let|give|gave|been(?! born)|faint|feel|trip|slip|bleed)|(?:i|he|she) (?:am|is|was) not (?:hurt|"
    r"lost|confused|bleeding|in (?:any )?(?:pain|danger|trouble)|on the floor|dizzy|ill|unwell|sick|injured|"
    r"feeling (?:low|suicidal|ill|unwell|dizzy)|suicidal|having|choking)|no (?:smoke|fire|gas|pain|need|blood|harm|"
    r"problem|sign)|no one (?:is|was|at|in|there)|nobody (?:is|was|at|in|there)|there is (?:no|nobody) (?:one|smoke|"
    r"fire|gas|pain|blood|sign)|not (?:any|a) (?:pain|"
    r"smoke|fire)|(?:i|he|she) (?:do|does) not (?:smell|feel|have|think i)|(?:cannot|can not) smell (?:gas|smoke|"
    r"anything)(?: anymore| now)?|i do not want to (?:die|hurt|harm|kill)|nothing (?:wrong|happened|to worry))\b")
# A question about emergencies, not a report of one ("what are the signs of a stroke").
_QUESTION = re.compile(
    # not a plea ("what do i do he is not breathing"), hopelessness ("what is the point") or confusion
    r"^(?!what is the point|what (?:do|shall|should|can) i do\b(?! if| when| about)|who (?:are|is) (?:these|those|"
    r"this|that|you|in))(?:what|how|why|when|which|who|whose|is it|is that|is there a|are there|does|do you|"
    r"do they|do i need|should|can you tell|could you tell|would it|will it|have you|tell me about|i wonder|"
    r"i was wondering)\b|"
    r"\b(?:what (?:are|is) the (?:signs|symptoms|number|best|difference|way)|how (?:do|can|would|should|does) "
    r"(?:you|i|one|someone|people|they) (?:know|tell|spot|treat|stop|help|do|get|test|make|use|avoid|check)|"
    r"what (?:should|do|would|can|does) (?:i|you|one|someone|people) do (?:if|when|about)|what happens (?:if|when)|"
    r"is it (?:normal|bad|safe|serious|dangerous|true)|signs of|symptoms of|how many|how often|how long)\b")
# A condition, not a fact ("if I fall", "in case there's a fire").
_HYPOTHETICAL = re.compile(
    r"\b(?:if (?:i|you|he|she|someone|somebody|there|they|it|a|the|one|my)\b(?! (?:was|were|died|had died|"
    r"was not|were not|just died|had never|did not wake|never woke|do not|will not|refuse)\b)|what if|in case|suppose|supposing|"
    r"imagine|would you know|would it|when you (?:fall|have|get|smell|feel|take)|in an emergency|"
    # a fear of what might happen ("I'm scared of falling over again when I go out") is a worry, not an event
    r"(?:scared|afraid|frightened|terrified|worried|nervous|anxious) (?:of|about) (?:\w+ing|being|getting))\b")
# Someone else's story: television, radio, books, the news, what a friend said.
_REPORTED = re.compile(
    r"\b(?:on (?:the )?(?:telly|tv|television|news|radio|programme|film|show|wireless|internet|facebook)|"
    r"(?:in|on) (?:the|my|a|that|this) (?:film|book|novel|story|programme|program|show|series|play|drama|soap|"
    r"episode|paper|newspaper|magazine|game|quiz|documentary|movie|article|sermon|song|musical)|"
    r"(?:film|book|novel|story|programme|program|show|series|play|drama|soap|episode|documentary|movie|article|"
    r"song|sermon|quiz|news|game|storyline|plot)(?: last night| yesterday| tonight| today)? (?:is|was|were|had|has|"
    r"about|where)|(?:i was|we were|i am|we are|i have been|i) (?:watching|watched|reading|listening to)|"
    r"read about|heard about|saw on|character|storyline|"
    r"detective|the hero|the heroine|the villain|the butler|casualty|eastenders|coronation street|emmerdale|holby|"
    r"neighbours|corrie|the archers|(?:they|he|she|my \w+|the \w+) (?:said|says|told me|was telling me|were "
    r"talking|talked) (?:about|that|on)|(?:told|was telling|were telling) me (?:about|that)|they were talking about|"
    r"on our road|down the road|in the village|the news said|a question about|there has been|there have been)\b")
# Everyday hyperbole: the words of an emergency, the meaning of a grumble.
_IDIOMS = (
    r"\b(?:is|are|was) killing me\b|\bcould (?:kill|murder|die|eat a horse|burst|scream)\b|\b(?:kill|die) for a\b|"
    r"\bdying (?:for|to)\b|\bwill be the death of\b|\b(?:dead|asleep) on my feet\b|\bon fire (?:today|with|at)\b|"
    r"\b(?:scared|bored|worried|frightened|tickled) (?:me )?(?:half )?to (?:death|tears|bits)\b|\blost for words\b|"
    r"\blost cause\b|\bstroke of (?:luck|genius)\b|\b(?:give|gave|giving) me a heart attack\b|"
    r"\bheart attack one day\b|\bfell (?:for|about)\b|\bwake the dead\b|\brather die than\b|\bdrowning in\b|"
    r"\bshot to pieces\b|\bdaylight robbery\b|\bfire hazard\b|\blose my head\b|\blast legs\b|"
    r"\bhead is spinning\b|\bbleeding (?:money|me dry)\b|\b(?:legs|feet|knees) (?:are|were) on fire\b|"
    r"\bi could have died\b|\bdied (?:laughing|of embarrassment)\b|\bdie of embarrassment\b")
# Laughter and banter.
_JOKE = re.compile(r"\b(?:ha ha|haha|hahaha|he he|only joking|just joking|joking|kidding|laughing|laughed|"
                   r"laugh|a joke|funny old|cheeky)\b|" + _IDIOMS)
# Happening now, or asking for help now.
_NOW = re.compile(
    r"\b(?:now|right now|still|again|at the moment|quick|quickly|hurry|urgent|urgently|emergency|please|"
    r"cannot get up|can not get up|will not (?:stop|go|leave|wake|answer|respond)|keeps|keep|is happening|"
    r"come quick|straight away|this minute|help)\b")
# A cry for help on its own: "help", "help me", "somebody help", "help help".
_CRY = re.compile(
    r"^(?:(?:please|oh|god|oh god|someone|somebody|anyone|anybody|quick|quickly|i need|need) )*"
    r"(?:help|help me|help us|help help|help help help|help me please|please help(?: me)?|get help|"
    r"emergency|sos|mayday|fire|fire fire)(?: (?:please|quick|quickly|now|help|me|someone|somebody|anyone))*$|"
    # or an utterance that opens with one: "help me i have fallen", "help i am stuck" (not "help me find ...")
    r"^(?:(?:please|oh|god|oh god|someone|somebody) )*help(?: me| us)?(?: please)? (?!(?:me |us )?(?:find|with|"
    r"remember|to|get|look|sort|put|choose|write|fix|understand|read|think|do|make|decide|in|out|up|carry|move|set|"
    r"pick|plan|tidy|clean|cook|work|you|yourself|him|her|them|my|the|a|this|that|some|if|when|please find)\b)")


@dataclass(frozen=True)
class Cues:
    """What the rules noticed about one utterance; each field is a feature of the safety head."""

    past: bool = False  # a memory: "last year", "years ago", "when I was young"
    recent: bool = False  # "yesterday", "earlier", "on Tuesday"
    resolved: bool = False  # "but I'm fine now", "it stopped", "I hung up"
    nearly: bool = False  # "I nearly fell"
    denial: bool = False  # "I didn't fall", "no chest pain"
    question: bool = False  # "what are the signs of a stroke"
    hypothetical: bool = False  # "if I fall", "in case of fire"
    reported: bool = False  # television, books, the news, somebody else's story
    joke: bool = False  # "ha ha", "only joking"
    mild: bool = False  # "a bit", "in the evenings", "from the cold"
    request: bool = False  # "could you help me": a request, not a cry
    now: bool = False  # "now", "still", "again", "please", "quick"
    cry: bool = False  # a cry for help, alone or opening the utterance

    def vector(self) -> np.ndarray:
        """The cues as a 0/1 feature vector, in field order."""
        return np.array([float(getattr(self, f.name)) for f in fields(self)], dtype=np.float32)

    def discounting(self) -> tuple[str, ...]:
        """The cues that say "not an emergency now" (for logs and explanations)."""
        return tuple(name for name in DISCOUNTING if getattr(self, name))


CUE_NAMES = tuple(f.name for f in fields(Cues))
DISCOUNTING = ("past", "recent", "resolved", "nearly", "denial", "question", "hypothetical", "reported", "joke",
               "mild", "request")


def read_cues(text: str) -> Cues:
    """The cues of one utterance (normalised, fillers stripped)."""
    t = text.strip()
    return Cues(
        past=bool(_PAST.search(t)), recent=bool(_RECENT.search(t)), resolved=bool(_RESOLVED.search(t)),
        nearly=bool(_NEARLY.search(t)), denial=bool(_DENIAL.search(t)), question=bool(_QUESTION.search(t)),
        hypothetical=bool(_HYPOTHETICAL.search(t)), reported=bool(_REPORTED.search(t)),
        joke=bool(_JOKE.search(t)), mild=bool(_MILD.search(t)), request=bool(_REQUEST.match(t)), now=bool(_NOW.search(t)), cry=bool(_CRY.match(t)))


_CLAUSE_BREAK = re.compile(r"\b(?:but|although|though|because|cos|so now|and now|and then|then|except|only)\b")


def clauses(text: str) -> list[str]:
    """The clauses of an utterance, split where what she says turns ("I'm fine | but my hip hurts")."""
    return [part.strip() for part in _CLAUSE_BREAK.split(text) if part.strip()]
