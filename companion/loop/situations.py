"""Within a strategy, which lines fit: grief for a husband or for a cat, worry about a hospital or a
grandson, a lost purse or a lost day, a wedding or a win. Small word lists over her normalised words;
the strategy itself comes from the trained head (understand.strategy)."""

from __future__ import annotations

import re

from companion.loop.skills import Person, PersonStatus
from companion.understand.strategy import GOODBYE, HER_APOLOGY, Strategy

SPOUSES = frozenset({"husband", "wife", "partner"})

_DEATH = re.compile(r"\b(?:died|dead|passed away|passed on|passed|lost (?:my|our|him|her)|funeral|late|put down|"
                    r"put to sleep|buried|ashes|grave|crematorium|since (?:he|she) went|gone now|widow\w*|grieving|"
                    r"anniversary of|without (?:him|her))\b")
_LONELY = re.compile(r"\b(?:lonely|alone|on my own|by myself|nobody (?:comes|calls|rings|phones|visits)|no one "
                     r"(?:comes|calls|rings|phones|visits)|(?:never|hardly)(?: ever)? (?:see|visit|call|ring)|forgotten|"
                     r"nobody to talk|no one to talk|quiet (?:here|house|at night)|so quiet|not spoken to|"
                     r"have not spoken|(?:do not|never) see (?:them|my family|anyone)|(?:never|hardly)(?: ever)? see)\b")
_MISS = re.compile(r"\bmiss(?:ing)? (?:him|her|them|my|our)\b|\bwish (?:he|she) was\b")
_HEALTH = re.compile(r"\b(?:hospital|operation|results?|tests?|scan|biopsy|doctor|consultant|appointment|dentist|"
                     r"injection|clinic|surgery|lump|specialist|x ray|blood|memory|eye|cataract|tablets|heart)\b")
_RESULTS = re.compile(r"\b(?:results?|biopsy|lump|letter from the hospital|hospital letter|what they (?:find|found|say))\b")
_FAMILY = re.compile(r"\b(?:son|daughter|grandson|granddaughter|grandchildren|husband|wife|sister|brother|niece|"
                     r"nephew|family|kids|children|grandkids)\b")
_NIGHT = re.compile(r"\b(?:sleep|slept|night|awake|insomnia|wink)\b")
_ANNOYED = re.compile(r"\b(?:annoy\w*|rude|fed up|cross|irritat\w*|do not like|cannot stand|noisy|sick of|nuisance|"
                      r"complain\w*|grumpy|mad at|angry)\b")
_TIRED = re.compile(r"\b(?:tired|sleep|slept|shattered|exhausted|worn out|night|awake|drained)\b")
_PAIN = re.compile(r"\b(?:ache|aching|aches|achy|hurts?|hurting|sore|pain|painful|stiff|swollen|throbbing|cramp|"
                   r"sciatica|arthritis|playing up|bruised|banged|cut|burnt|gyp|killing me)\b")
_EVENTS: list[tuple[str, re.Pattern[str]]] = [
    ("anniversary", re.compile(r"\b(?:anniversary|golden wedding|diamond wedding|silver wedding|ruby wedding)\b")),
    ("engagement", re.compile(r"\bengaged\b|\bengagement\b")),
    ("wedding", re.compile(r"\b(?:getting married|get married|got married|wedding|marrying)\b")),
    ("baby", re.compile(r"\b(?:baby|born|pregnant|expecting|great grand\w*|christened)\b")),
    ("birthday", re.compile(r"\bbirthday\b|\bi am (?:ninety|eighty|a hundred)\b|\bhundredth\b")),
    ("exams", re.compile(r"\b(?:passed|exams?|driving test|graduat\w+|university|college|top marks|degree)\b")),
    ("job", re.compile(r"\b(?:new job|got the job|got a job|promot\w+|made a manager|first job|job at)\b")),
    ("health", re.compile(r"\b(?:all clear|clear|came back normal|normal|much better|do not need the|cancer free|"
                          r"new hip|cast off|better)\b")),
    ("visit", re.compile(r"\b(?:coming (?:to visit|to stay|round|over|home|for|on|to see|next|this|tomorrow|at)|"
                         r"visiting|visit|come to stay|stay for|(?:is|are) coming$)\b")),
    ("win", re.compile(r"\b(?:won|win|winning|prize|first place|came first|came second|medal|raffle|bingo|"
                       r"tombola|hole in one)\b")),
]
EVENT_NOUNS = {"wedding": "wedding", "engagement": "engagement", "baby": "new baby", "job": "new job",
               "exams": "exams", "visit": "visit", "birthday": "birthday", "anniversary": "anniversary"}
_NEWS = re.compile(r"\b(?:news|guess what|happy|delighted|thrilled|excited|over the moon|proud|pleased|at last|"
                   r"finally|first time|best|wonderful)\b")
_ACHIEVED = re.compile(r"\b(?:i (?:managed|finished|walked|learned|learnt|made|baked|did it|can walk|passed)|"
                       r"by myself|on my own|all by myself|without my (?:stick|frame))\b")
_TIME = re.compile(r"\b(?:day|date|time|morning|afternoon|evening|night|weekend|week|month|year|today|season|"
                   r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|christmas|winter|spring|summer|"
                   r"autumn|lunch ?time|tea ?time|dark)\b")
_UNSURE = re.compile(r"\b(?:cannot|can not|do not) (?:remember|recall) (?:if|whether)\b|\bdid i (?:already )?"
                     r"(?:tell|phone|ring|call|lock|feed|turn)\b|\bhas (?:my|the) \w+ (?:been|rung|called)\b")
_MEDS = re.compile(r"\b(?:tablets?|pills?|medicine|medication|dose|inhaler|insulin)\b")
_LOST = re.compile(r"\b(?:lost|find|found|put|left|where (?:is|are|did|have)|misplaced|gone)\b.{0,30}"
                   r"\b(?:my|the)\b|\bwhere have i put\b|\bcannot find\b")
_HOW_ARE_YOU = r"\bhow are you\b|\bhow is (?:things|it going)\b|\bhow are things\b|\bhow do you do\b"
_TOPICS: list[tuple[str, re.Pattern[str]]] = [
    ("cant_know", re.compile(r"\bwhat (?:is )?(?:the weather (?:going to|doing|like|forecast)|(?:is )?on (?:the )?(?:telly|tv|"
                             r"television|radio)|the news|the forecast)\b|\bwill it (?:rain|snow|be sunny)\b|\bwho won\b|"
                             r"\bwhat is the (?:score|news|forecast)\b")),
    ("bored", re.compile(r"\b(?:bored|nothing to do|fed up with nothing|days drag|day is dragging)\b")),
    ("share", re.compile(r"\btell me (?:something|a fact|anything)\b")),
    ("request", re.compile(r"\btell me (?:about|a story|a joke|a poem|a tale)\b|\b(?:sing|read) me\b")),
    ("open", re.compile(r"\b(?:what (?:shall|should|do you want to|can) we (?:talk|chat)|let us (?:have a )?(?:talk|chat)|"
                        r"what do you want to talk|talk about something|have a chat)\b")),
    ("how_are_you", re.compile(_HOW_ARE_YOU + r"|\bwhat is new with you\b")),
    ("name", re.compile(r"\bmy name is\b|\bcall me\b|\bi am called\b")),
    ("company", re.compile(r"\b(?:came (?:round|over|to see me|for (?:tea|lunch|coffee))|popped (?:in|round|over)|"
                           r"had (?:\w+ ){0,2}round|visited me|came to visit|had a visit)\b")),
    ("greeting", re.compile(r"^(?:oh |well )?(?:hello|hi|hiya|hey|good (?:morning|afternoon|evening)|morning|"
                            r"evening|afternoon|are you there|are you awake)\b")),
    ("food", re.compile(r"\b(?:soup|lunch|breakfast|dinner|tea|supper|cake|biscuit|toast|egg|sandwich|pie|fish|"
                        r"chips|cook\w*|bake\w*|bread|kettle|cup of|eat|ate|meal|coffee|pudding|roast)\b")),
    ("nature", re.compile(r"\b(?:birds?|robin|blackbird|blue ?tits?|sparrows?|pigeons?|feeder|squirrels?|fox|foxes|"
                          r"hedgehog|butterfl\w+|bees?)\b")),
    ("garden", re.compile(r"\b(?:garden|roses?|flowers?|plants?|bulbs?|daffodils?|tulips?|grass|lawn|leaves|trees?|"
                          r"allotment|planted|weeds|blossom|geraniums?|sweet peas?)\b")),
    ("weather", re.compile(r"\b(?:rain\w*|sun\w*|weather|cold|chilly|windy|wind|snow\w*|fog\w*|frost\w*|hot|warm|"
                           r"storm|gale|icy|bucketing|pouring|drizzl\w*|chucking it down|spitting|grey|miserable out)\b")),
    ("pastime", re.compile(r"\b(?:watch\w*|telly|tv|television|programme|film|snooker|football|cricket|tennis|"
                           r"quiz|crossword|puzzle|word search|jigsaw|read\w*|book|radio|music|knit\w*|sewing|"
                           r"cards|photos)\b")),
    ("outing", re.compile(r"\b(?:shops?|shopping|market|walk|church|hairdresser|hair done|bus|town|club|"
                          r"coffee morning|library|park)\b")),
    ("family", re.compile(r"\b(?:daughter|son|grandson|granddaughter|sister|brother|family|grandchildren|niece|"
                          r"nephew|neighbour|friend)\b")),
]
_REMINDER = re.compile(r"\bremind me\b|\bset (?:a|an) (?:reminder|alarm)\b|\bwake me\b")
_ABOUT: list[tuple[str, re.Pattern[str]]] = [
    ("reminder", _REMINDER),
    ("herself", re.compile(r"\bdo you think i (?:am|look|sound)\b|\bam i (?:stupid|silly|daft|a nuisance|boring|mad|"
                           r"going mad|losing it)\b")),
    ("how_are_you", re.compile(_HOW_ARE_YOU)),
    ("phone", re.compile(r"\b(?:ring|phone|call|text|email|message)\b.{0,20}\b(?:my|for me|the|an?)\b|\bmake a call\b")),
    ("visit", re.compile(r"\bcome (?:round|over|and visit|to tea|for tea)\b|\bvisit me\b|\bcup of tea\b")),
    ("always", re.compile(r"\b(?:always|forever|for ever|never leave|tomorrow|how long will you|stay with me|"
                          r"promise)\b")),
    ("listening", re.compile(r"\b(?:listening|recording|hear (?:me|everything)|tell anyone|remember everything|"
                             r"spying|can you see|see what)\b")),
    ("gender", re.compile(r"\b(?:man or a woman|boy or a girl|a lady|a man|a woman|a boy|a girl)\b")),
    ("understand", re.compile(r"\bknow how i feel\b|\bunderstand me\b")),
    ("feelings", re.compile(r"\b(?:lonely|feel\w*|sad|happy|bored|tired|love me|like me|care about me|miss me|"
                            r"my friend|enjoy|alive|cold)\b")),
    ("age", re.compile(r"\b(?:how old|age|born|birthday|how long have you been)\b")),
    ("family", re.compile(r"\b(?:family|children|kids|mum|dad|mother|father|husband|wife)\b")),
    ("body", re.compile(r"\b(?:eat|sleep|dream|body|brain|look like|made of|go out|awake|watch telly|night)\b")),
    ("name", re.compile(r"\b(?:your name|who are you|have you got a name|what are you)\b")),
    ("maker", re.compile(r"\b(?:who made|made you|where are you from|internet)\b")),
    ("where", re.compile(r"\b(?:where do you live|where are you|where do you go)\b")),
    ("favourites", re.compile(r"\b(?:favourite|favorite|do you like)\b")),
    ("abilities", re.compile(r"\b(?:what (?:\w+ ){0,3}can you do|what are you good at|clever|know everything|"
                             r"how do you (?:work|know)|think|talk)\b")),
]
_CURE = re.compile(r"\b(?:cures?|magnet\w*|bracelet|copper|turmeric|miracle|remedy|live longer|anti ageing|herbal)\b")
_MEDICAL = re.compile(r"\b(?:tablets?|pills?|medicine|medication|dose|insulin|painkillers?|paracetamol|ibuprofen|"
                      r"aspirin|vitamins?|jab|inhaler|cream|antibiotics?|statins?|warfarin|morphine|"
                      r"antidepressants?|prescription|cough medicine)\b")
_MONEY = re.compile(r"\b(?:money|savings|invest\w*|lend|bank|shares|pension|loan|pounds|scheme|gold|solicitor|"
                    r"insurance|house in)\b")


def grief_situation(focus: Person | None, norm: str) -> str | None:
    """Which grief lines fit, if she is grieving."""
    if focus is not None and not focus.alive:
        if focus.status is PersonStatus.PET:
            return "grief_pet"
        return "grief_spouse" if focus.relation in SPOUSES else "grief_person"
    if _DEATH.search(norm):
        return "grief"
    return None


def situation(strategy: Strategy, norm: str, focus: Person | None, basis: str, misheard: bool = False,
              own_name: str = "") -> str:
    """The banks' section for this strategy and her words (its own name is not a topic: "night night Robin")."""
    if own_name:
        norm = " ".join(re.sub(rf"\b{re.escape(own_name.lower())}\b", " ", norm).split())
    if basis == "voice":
        return "voice"
    if basis == "conversation":
        return "continue"
    if strategy is Strategy.COMFORT:
        grief = grief_situation(focus, norm)
        if grief:
            return grief
        named = focus is not None and focus.name and re.search(rf"\bmiss(?:ing)? {re.escape(focus.name.lower())}\b", norm)
        if (_MISS.search(norm) or named) and focus is not None and focus.status is not PersonStatus.HERSELF:
            return "missing"  # she misses someone alive (or memory does not know): not grief, not loneliness
        if _LONELY.search(norm):
            return "lonely"
        return "annoyed" if _ANNOYED.search(norm) else "sad"
    if strategy is Strategy.SAFETY_CHECK:
        return "general"
    if strategy is Strategy.REASSURE:
        if HER_APOLOGY.search(norm):
            return "apology"
        if _RESULTS.search(norm):
            return "results"
        if _HEALTH.search(norm):
            return "health"
        return "family" if _FAMILY.search(norm) else "general"
    if strategy is Strategy.CARE:
        if _PAIN.search(norm):
            return "pain"
        if _TIRED.search(norm):
            return "sleep" if _NIGHT.search(norm) else "tired"
        return "general"
    if strategy is Strategy.CELEBRATE:
        event = celebrated(norm)
        if event:
            return event
        if _ACHIEVED.search(norm):
            return "achievement"
        return "general" if _NEWS.search(norm) else "pleasant"  # no news to cheer: "How lovely!", not "wonderful news"
    if strategy is Strategy.BACK_OFF:
        return "misheard" if misheard else "quiet"
    if strategy is Strategy.REORIENT:
        if _MEDS.search(norm):
            return "medication"
        if _LOST.search(norm) and not _TIME.search(norm):
            return "lost_item"
        if _UNSURE.search(norm):
            return "unsure"
        return "time" if _TIME.search(norm) else "general"
    if strategy is Strategy.INVITE_STORY:
        return "person" if focus is not None and focus.name and focus.status is not PersonStatus.HERSELF else "general"
    if strategy is Strategy.CHAT:
        if GOODBYE.search(norm):
            return "goodbye"
        return next((name for name, rx in _TOPICS if rx.search(norm)), "general")
    if strategy is Strategy.ABOUT_ITSELF:
        return next((name for name, rx in _ABOUT if rx.search(norm)), "general")
    if strategy is Strategy.DECLINE:
        if _REMINDER.search(norm):
            return "reminder"
        if _CURE.search(norm):
            return "cure"
        if _MEDICAL.search(norm):
            return "medical"
        if _MONEY.search(norm):
            return "money"
        if re.search(r"\b(?:book|taxi|cab|hair appointment|holiday|reserve)\b", norm):
            return "booking"
        return "purchase" if re.search(
            r"\b(?:buy|order|get me|pay|deliver\w*|deal|worth|get|catalogue|supplier|warranty|bet|sign up|sign the|"
            r"subscribe|plan)\b", norm) else "general"
    return "general"


def celebrated(norm: str) -> str | None:
    """The kind of good news, if her words say ("wedding", "baby", "win" ...)."""
    return next((name for name, rx in _EVENTS if rx.search(norm)), None)


def lonely(norm: str) -> bool:
    """Do her words speak of loneliness or missing someone?"""
    return bool(_LONELY.search(norm) or _MISS.search(norm))
