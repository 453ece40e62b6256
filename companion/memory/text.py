"""Small language helpers for memories: number words, dates, yes/no, person shifts, tokens."""

from __future__ import annotations

import re
from datetime import date, timedelta

from companion.language import yes_no

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}
ORDINALS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split())}
ORDINALS.update({f"twenty {w}": 20 + ORDINALS[w] for w in list(ORDINALS)[:9]})
ORDINALS.update({"thirtieth": 30, "thirty first": 31})
MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
WEEKDAYS = {d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}

NUMBER_RE = r"(?:\d{1,3}|(?:a hundred(?: and)? )?(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|one|two|three|four|five|six|seven|eight|nine)|a hundred)"
ORDINAL_RE = r"(?:\d{1,2}(?:st|nd|rd|th)?|(?:twenty[ -])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|thirty[ -]first)"
MONTH_RE = r"(?:" + "|".join(MONTHS) + r")"
DAY_MONTH_RE = (rf"(?:the )?(?P<d1>{ORDINAL_RE})(?: of)? (?P<m1>{MONTH_RE})"
                rf"|(?P<m2>{MONTH_RE})(?: the)? (?P<d2>{ORDINAL_RE})")
WHEN_RE = (r"(?P<when>today|tonight|tomorrow|this (?:morning|afternoon|evening)|next week|"
           r"(?:on |next |this )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
           rf"(?: (?:morning|afternoon|evening))?|on (?:{DAY_MONTH_RE.replace('?P<d1>', '').replace('?P<m1>', '').replace('?P<m2>', '').replace('?P<d2>', '')}))")

MEMORY_YES = ("remember it", "keep it", "yes remember")
MEMORY_NO = ("cancel", "stop", "not", "do not")


def parse_number(text: str) -> int | None:
    """'12', 'twelve', 'eighty two', 'a hundred and one' → int (None if not a number)."""
    t = text.strip().lower().replace("-", " ")
    if t.isdigit():
        return int(t)
    total, seen = 0, False
    for w in t.split():
        if w in ("a", "and"):
            continue
        if w == "hundred":
            total = max(total, 1) * 100
        elif w in UNITS:
            total += UNITS[w]
        elif w in TENS:
            total += TENS[w]
        else:
            return None
        seen = True
    return total if seen else None


def parse_ordinal(text: str) -> int | None:
    """'5th', '5', 'fifth', 'twenty first' → day of month."""
    t = text.strip().lower().replace("-", " ")
    digits = re.match(r"(\d{1,2})(?:st|nd|rd|th)?$", t)
    if digits:
        return int(digits.group(1))
    return ORDINALS.get(t)


def parse_day_month(text: str) -> tuple[int, int] | None:
    """'the fifth of march' / 'march 5th' → (month, day), or None."""
    m = re.search(DAY_MONTH_RE, text.lower())
    if not m:
        return None
    day = parse_ordinal(m.group("d1") or m.group("d2"))
    month = MONTHS[m.group("m1") or m.group("m2")]
    if day is None or not 1 <= day <= 31:
        return None
    return month, day


def resolve_when(when: str, today: date) -> date | None:
    """The calendar date meant by 'thursday', 'tomorrow', 'on the 5th of may' (None if vague)."""
    w = when.lower().strip()
    if w.startswith(("today", "tonight", "this morning", "this afternoon", "this evening")):
        return today
    if w.startswith("tomorrow"):
        return today + timedelta(days=1)
    for name, idx in WEEKDAYS.items():
        if name in w:
            ahead = (idx - today.weekday()) % 7 or 7  # "on Thursday" said on a Thursday means next week
            return today + timedelta(days=ahead)
    dm = parse_day_month(w)
    if dm:
        month, day = dm
        for year in (today.year, today.year + 1):
            try:
                d = date(year, month, day)
            except ValueError:
                return None
            if d >= today:
                return d
    return None


def say_month_day(mmdd: str) -> str:
    """'03-14' → '14 March'."""
    month, day = (int(x) for x in mmdd.split("-"))
    return f"{day} {list(MONTHS)[month - 1].title()}"


def yes_or_no(text: str) -> bool | None:
    """Her yes or no to "Shall I remember/forget ...?" (the shared parser, with memory's own words)."""
    return yes_no(text, yes=MEMORY_YES, no=MEMORY_NO)


_SECOND = {"i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "i'm": "you're",
           "am": "are", "i've": "you've", "i'd": "you'd", "i'll": "you'll", "was": "were", "we": "you",
           "our": "your", "us": "you"}


def to_second_person(text: str) -> str:
    """'I owe my son ten pounds' → 'you owe your son ten pounds' (for reading back to her)."""
    words = text.split()
    out = []
    for i, w in enumerate(words):
        low = w.lower()
        if low == "was" and (i == 0 or words[i - 1].lower() not in ("i", "we")):
            out.append(w)
        else:
            out.append(_SECOND.get(low, w))
    return " ".join(out)


STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't could couldn't did didn't do does doesn't doing don't down during each
few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more
most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same
shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through to too under
until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's
which while who who's whom why why's with won't would wouldn't you you'd you'll you're you've your yours
yourself yourselves tell remember know think said say says told just really oh well um er yes yeah
okay ok please thanks thank going go get got like been today now then still ever much many
""".split())


def stem(word: str) -> str:
    """A tiny suffix stripper so 'gardening', 'garden' and 'gardens' meet."""
    w = word
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 5 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Search terms of a text: lower case, no stop words, stemmed."""
    words = re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))
    return [stem(w.strip("'")) for w in words if w.strip("'") and w not in STOPWORDS]
