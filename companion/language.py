"""Words, shared by every area: one normaliser, one sentence splitter, one yes/no parser, and the
spoken forms of times and dates.

Skills add their own words to the yes/no parser (a medication answer "I took it" is a yes
only there); nobody keeps a private copy of these.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Iterable, Iterator

_CONTRACTIONS = {
    "can't": "cannot", "cant": "cannot", "can not": "cannot", "couldn't": "could not",
    "couldnt": "could not", "didn't": "did not", "didnt": "did not", "don't": "do not",
    "dont": "do not", "doesn't": "does not", "doesnt": "does not", "won't": "will not",
    "wont": "will not", "wouldn't": "would not", "wouldnt": "would not", "haven't": "have not",
    "havent": "have not", "hasn't": "has not", "hasnt": "has not", "isn't": "is not",
    "isnt": "is not", "wasn't": "was not", "wasnt": "was not", "aren't": "are not",
    "shouldn't": "should not", "ain't": "am not", "i'm": "i am", "im": "i am", "i've": "i have",
    "ive": "i have", "i'd": "i would", "i'll": "i will", "it's": "it is", "its": "it is",
    "there's": "there is", "theres": "there is", "he's": "he is", "she's": "she is",
    "someone's": "someone is", "somebody's": "somebody is", "that's": "that is",
    "what's": "what is", "they're": "they are", "there're": "there are", "we're": "we are",
    "you're": "you are", "wanna": "want to", "gonna": "going to", "gotta": "got to",
}


# Mis-hearings of small speech recognisers, applied after contractions (regex → replacement).
_GARBLES = [
    (r"\bhe?lp+ me\b", "help me"), (r"\bhep\b", "help"), (r"\bhalp\b", "help"), (r"\byelp\b", "help"),
    (r"\bchess (pains?|hurts|is tight)\b", r"chest \1"), (r"\bchest pains\b", "chest pain"),
    (r"\btest pain\b", "chest pain"), (r"\bheart attach\b", "heart attack"),
    (r"\bi (?:fail|fall|fel|feel) (down|over)\b", r"i fell \1"), (r"\bi have (?:fell|fall)\b", "i have fallen"),
    (r"\bon the (?:flaw|flour|flo)\b", "on the floor"),
    (r"\b(cannot|can hardly|can barely|struggling to|hard to|trouble|unable to) (?:breed|brief|bree|breath|breeze|brave)\b",
     r"\1 breathe"),
    (r"\bkill my self\b", "kill myself"), (r"\bhurt my self\b", "hurt myself"),
    (r"\bwant (?:a|too|two) die\b", "want to die"), (r"\bany more\b", "anymore"),
    (r"\bsome one\b", "someone"), (r"\bsome body\b", "somebody"), (r"\bbang details\b", "bank details"),
    (r"\bambulence\b", "ambulance"), (r"\bnine one one\b", "911"), (r"\bnine nine nine\b", "999"),
    (r"\bone one two\b", "112"), (r"\brecognize\b", "recognise"),
]


def normalize(text: str) -> str:
    """Lower-case, strip punctuation, expand contractions and undo common ASR mis-hearings."""
    t = text.lower().replace("’", "'").replace("‘", "'")
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    words = []
    for w in t.split(" "):
        words.append(_CONTRACTIONS.get(w, w.strip("'")))
    t = " ".join(words)
    t = t.replace("can not", "cannot")
    for pattern, repl in _GARBLES:
        t = re.sub(pattern, repl, t)
    return re.sub(r"\s+", " ", t).strip()



# ---------------------------------------------------------------- typed text

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def clean_typed(text: str) -> str:
    """Typed text made safe for every stage: no control characters or terminal escapes, one line, valid UTF-8."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from a mis-decoded paste
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def cut_at_word(text: str, limit: int) -> tuple[str, bool]:
    """The start of `text` (at most `limit` characters, ending on a whole word when there is one), and
    whether anything was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-") + "…", True


# ---------------------------------------------------------------- sentences

SENTENCE_END = re.compile(r"([.!?…]+[\"')\]]*)\s+")  # a sentence ends here (the group is its punctuation)
CLAUSE_END = re.compile(r"([,;:—])\s+")  # a clause ends here (speakable early, before the sentence ends)


def sentences(text: str) -> Iterator[str]:
    """Split fixed text into sentences, to speak one at a time."""
    for part in SENTENCE_END.sub(lambda m: m.group(1) + "\n", text.strip() + " ").split("\n"):
        if part.strip():
            yield part.strip()


# ---------------------------------------------------------------- yes and no

YES_WORDS = frozenset("yes yeah yep yup aye sure ok okay alright certainly absolutely definitely correct right "
                      "please".split())
NO_WORDS = frozenset("no nope nah never".split())
YES_PHRASES = ("go on", "go ahead", "do it", "please do", "of course", "that is right", "that is fine",
               "that is all right", "that is ok", "that is okay", "all right", "i think so", "i do not mind",
               "no problem", "no worries", "why not", "i suppose so", "i agree", "mm hmm", "uh huh")
NO_PHRASES = ("no thanks", "no thank you", "not really", "never mind", "better not", "forget it", "leave it",
              "rather not", "i would rather not", "i do not want", "please do not", "do not", "i am not")
_FILLERS = ("oh", "um", "er", "erm", "well", "hmm", "ah")


def yes_no(text: str, *, yes: Iterable[str] = (), no: Iterable[str] = ()) -> bool | None:
    """True for a yes, False for a no, None when the answer is neither.

    `yes` / `no` add a skill's own phrases (matched at the start, after fillers);
    a no-phrase wins over a yes-word ("no thank you", "yes... no, not really" is a no).
    """
    t = normalize(text)
    words = t.split()
    while words and words[0] in _FILLERS:
        words = words[1:]
    t = " ".join(words)
    if not t:
        return None
    if any(t == p or t.startswith(p + " ") for p in (*NO_PHRASES, *no)):
        return False
    if any(t == p or t.startswith(p + " ") for p in (*YES_PHRASES, *yes)):
        return True
    if words[0] in NO_WORDS:
        return False
    if words[0] in YES_WORDS:
        return True
    return None


# ---------------------------------------------------------------- times and dates, as people say them

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty"}


def number_words(n: int) -> str:
    """0–59 in words (clock minutes and hours)."""
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else f"-{_ONES[ones]}")


def say_time(t: datetime) -> str:
    """'It's twenty past three in the afternoon.'-style, as people say it."""
    hour12 = t.hour % 12 or 12
    if t.minute == 0:
        clock = f"{number_words(hour12)} o'clock"
    elif t.minute < 10:
        clock = f"{number_words(hour12)} oh {number_words(t.minute)}"
    else:
        clock = f"{number_words(hour12)} {number_words(t.minute)}"
    if t.hour < 12:
        part = "in the morning" if t.hour >= 5 else "at night"
    elif t.hour < 18:
        part = "in the afternoon"
    else:
        part = "in the evening" if t.hour < 22 else "at night"
    if t.hour == 12 and t.minute == 0:
        return "It's twelve noon."
    if t.hour == 0 and t.minute == 0:
        return "It's midnight."
    return f"It's {clock} {part}."


def spoken_time(t: time, period: bool = False) -> str:
    """08:00 → "8 o'clock", 08:30 → "half past 8", 20:15 → "quarter past 8 in the evening"."""
    h12 = t.hour % 12 or 12
    nxt = (t.hour + 1) % 12 or 12
    if t.minute == 0:
        words = "midnight" if t.hour == 0 else "noon" if t.hour == 12 else f"{h12} o'clock"
    elif t.minute == 30:
        words = f"half past {h12}"
    elif t.minute == 15:
        words = f"quarter past {h12}"
    elif t.minute == 45:
        words = f"quarter to {nxt}"
    else:
        words = f"{h12}:{t.minute:02d}"
    if period and words not in ("midnight", "noon"):
        hour = t.hour + (1 if t.minute == 45 else 0)
        words += " in the morning" if hour < 12 else " in the afternoon" if hour < 18 else " in the evening"
    return words


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def say_today(t: datetime) -> str:
    """'Today is Saturday, the 21st of November, 2026.'"""
    return f"Today is {t:%A}, the {_ordinal(t.day)} of {t:%B}, {t.year}."


def say_date(d: date, weekday: bool = True) -> str:
    """'Thursday 13 June' (or '13 June')."""
    text = f"{d.day} {d.strftime('%B')}"
    return f"{d.strftime('%A')} {text}" if weekday else text


def day_phrase(event: datetime, now: datetime) -> str:
    """'today' / 'tomorrow' / 'on Thursday' / 'on Thursday 3 December' (both local)."""
    days = (event.date() - now.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if 1 < days < 7:
        return f"on {event:%A}"
    return f"on {event:%A} {event.day} {event:%B}"
