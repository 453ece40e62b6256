"""Facts from what she said: patterns for the common ones, an optional LLM hook for the rest.

Works on speech-recogniser output (lower case, no punctuation) as well as typed text.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from companion.memory.model import KINDS, PETS, RELATIONS, SENSITIVE_KINDS
from companion.memory.text import DAY_MONTH_RE, NUMBER_RE, WHEN_RE, parse_day_month, parse_number, resolve_when

log = logging.getLogger(__name__)


@dataclass
class Candidate:
    """A fact found in an utterance, before it is merged into the memories."""

    kind: str
    subject: str = ""
    relation: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    said: str = ""

    @property
    def sensitive(self) -> bool:
        """Health and money: ask her before storing."""
        return self.kind in SENSITIVE_KINDS


# words that end a name or place and can never be one
NOT_NAMES = frozenset("""
a an the and but or so is was are were be been has had have who which that this it its he she they we i you
me my your her his our their them him us lives lived living moved moves is's called named name just now
very really quite so too also still always never not no yes nice lovely good great fine well ill poorly sick
coming going visiting came went back later tomorrow today tonight yesterday soon again here there home
away out up down in on at to for with from of about after before by over young old little big new
works worked working married engaged died passed turned turns getting got gets doing does did says said
thinks told tells wants likes loves hates keeps makes takes took gives gave sees saw rang rings phoned
calls texted sent writes wrote bought brings brought helps helped lost dad mum mom too
used kept loved liked made baked cooked grew worked taught ran sang played drove walked knitted sewed
always usually often sometimes once ever even would could should can must might do does
keep kept make love like grow work teach run sing play drive walk knit sew loved used bless
""".split()) | frozenset(RELATIONS) | frozenset(PETS)
PLACE_END = r"(?=$| now| is| has| was| with| and| but| because| since| last| for| so| when| which| who| where| near| these| this| years| at)"
REL_RE = "|".join(sorted((re.escape(r) for r in RELATIONS), key=len, reverse=True))
PET_RE = "|".join(sorted(PETS, key=len, reverse=True))
NAMING = r"(?:'s name is |(?: who)? is called |(?: who)? is named | called | named | )"
CONDITIONS = ("diabetes", "type two diabetes", "type 2 diabetes", "arthritis", "rheumatoid arthritis",
              "osteoarthritis", "high blood pressure", "low blood pressure", "asthma", "copd", "emphysema",
              "dementia", "alzheimer's", "parkinson's", "angina", "a heart condition", "heart failure",
              "atrial fibrillation", "osteoporosis", "glaucoma", "cataracts", "macular degeneration",
              "cancer", "epilepsy", "gout", "psoriasis", "eczema", "migraines", "tinnitus", "a pacemaker",
              "kidney disease", "a bad back", "a bad hip", "a bad knee", "bad knees", "a bad heart",
              "hearing aids", "a hearing aid", "high cholesterol", "an underactive thyroid", "sciatica",
              "vertigo", "incontinence", "depression", "anxiety", "shingles", "a stoma")
COND_RE = "|".join(sorted((re.escape(c) for c in CONDITIONS), key=len, reverse=True))
MEDS = ("metformin", "warfarin", "aspirin", "statins", "atorvastatin", "simvastatin", "ramipril",
        "amlodipine", "levothyroxine", "omeprazole", "lansoprazole", "paracetamol", "ibuprofen", "insulin",
        "bisoprolol", "furosemide", "donepezil", "sertraline", "citalopram", "co-codamol", "codeine",
        "lisinopril", "metoprolol", "apixaban", "rivaroxaban", "clopidogrel", "prednisolone", "gabapentin",
        "amitriptyline", "tramadol", "vitamin d", "calcium tablets", "iron tablets", "water tablets",
        "blood pressure tablets", "blood pressure pills", "heart tablets", "heart pills", "sleeping tablets",
        "sleeping pills", "eye drops", "an inhaler", "my inhaler", "morphine", "digoxin", "allopurinol",
        "losartan", "candesartan", "edoxaban", "memantine", "mirtazapine", "thyroxine", "pain killers",
        "painkillers", "antibiotics")
MED_RE = "|".join(sorted((re.escape(m) for m in MEDS), key=len, reverse=True))
TIMING_RE = (r"(?P<timing>(?:every |each )?(?:in the morning|at night|in the evening|at bedtime|before bed|"
             r"with (?:breakfast|lunch|dinner|my tea|food|meals)|once a day|twice a day|three times a day|"
             r"every (?:day|morning|night|evening)|at (?:\w+ )?o'clock|at \d{1,2}(?::\d\d)? ?(?:am|pm)?)"
             r"(?: (?:and|with) (?:in the evening|at night|with (?:breakfast|dinner)))?)")
PLACES_TO_GO = r"(?P<what>(?:the |my |a )?(?:doctor's|doctors|doctor|gp|dentist|optician|opticians|hospital|clinic|surgery|hairdresser's|hairdresser|hairdressers|chiropodist|podiatrist|physio|nurse|church|day centre|bank|post office|library|market|hearing clinic|memory clinic|eye clinic|specialist|consultant))"
SECRET_RE = re.compile(r"\b(?:pin(?: number)?|password|passcode|card number|account number|security code|"
                       r"sort code|cvv|social security number)\b(?: is)?")
MONEY_RE = re.compile(r"\bi (?:owe|lent|borrowed|gave|paid|sent|spent|have|saved|put)\b.*\b(?:pounds|quid|dollars|"
                      r"euros|money|cash|savings|pension)\b|\bmy (?:pension|savings|bank|mortgage|rent|debts?|will)\b.{3,}")
LIKE_END = r"(?= but | because | when | and i | so | though | if | as |$)"
BAD_OBJECTS = frozenset("it that this you them him her those these one some what".split())


def original_and_lower(text: str) -> tuple[str, str]:
    """(original, lower) with commas dropped and spaces collapsed; same length."""
    t = re.sub(r"[,\"“”]", " ", text.replace("’", "'"))
    t = re.sub(r"\s+", " ", t).strip()
    low = t.lower()
    return (t, low) if len(low) == len(t) else (low, low)


def _proper(orig: str, low: str, start: int, end: int) -> str:
    """The words at [start:end] as a proper name: her casing if typed, else Title Case."""
    span = orig[start:end].strip()
    if span != span.lower():
        return span
    words = low[start:end].strip().split()
    small = {"of", "the", "upon", "on", "in", "and", "de", "la", "le"}
    return " ".join(w if (w in small and i) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _valid_name(word: str) -> bool:
    # "my grandson hasn't phoned": a word with an apostrophe (other than a possessive) is never a name
    return (bool(word) and word not in NOT_NAMES and parse_number(word) is None and len(word) > 1
            and "'" not in word.removesuffix("'s"))


def clause_pairs(text: str) -> list[tuple[str, str]]:
    """Split into sentences (on . ! ? ;) → [(original, lower)]."""
    orig, low = original_and_lower(text)
    out, start = [], 0
    for m in re.finditer(r"[.!?;]+(?:\s|$)|\s(?:and then|but|so anyway)\s", low + " "):
        if m.start() > start:
            out.append((orig[start:m.start()].strip(" .!?;"), low[start:m.start()].strip(" .!?;")))
        start = m.end()
    if start < len(low):
        out.append((orig[start:].strip(" .!?;"), low[start:].strip(" .!?;")))
    return [c for c in out if c[1]]


def has_secret(text: str) -> bool:
    """PINs, passwords and card numbers: never stored, never repeated."""
    low = original_and_lower(text)[1]
    m = SECRET_RE.search(low)
    return bool(m and re.search(r"\d|\b(?:zero|one|two|three|four|five|six|seven|eight|nine)\b", low[m.end():]))


def _valid_place(place: str) -> bool:
    first = place.split()[0]
    return first not in {"a", "an", "my", "his", "her", "their", "our", "your", "it", "there", "here", "with",
                         "this", "that", "and", "so"} and parse_number(first) is None


def _person_attrs(rest: str, orig_rest: str, today: date) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    cut = re.search(r" (?:my|her|his|their|i|we|you) ", rest)  # details stop where another person starts
    if cut:
        rest, orig_rest = rest[:cut.start()], orig_rest[:cut.start()]
    place = re.search(rf"(?:^|\s)(?:who |and )?(?:now |still )?(?:lives|is living|has moved|moved|lived|has just moved|just moved|is moving|now lives) (?:in|to|over to|down to|up to) (?P<p>[a-z'\-]+(?: [a-z'\-]+){{0,3}}?){PLACE_END}", rest)
    if place and _valid_place(place.group("p")):
        attrs["lives_in"] = _proper(orig_rest, rest, place.start("p"), place.end("p"))
    age = re.search(rf"(?:^|\s)(?:who |and )?(?:is|has just turned|just turned|turned|will be|is now|is going to be) (?P<n>{NUMBER_RE})(?: years old| now|$|\s)", rest)
    if age and parse_number(age.group("n")) is not None:
        attrs["age"] = parse_number(age.group("n"))
    job = re.search(r"(?:^|\s)(?:who |and )?(?:works as|is) an? (?P<j>nurse|teacher|doctor|engineer|builder|lawyer|solicitor|accountant|vet|policeman|policewoman|police officer|firefighter|chef|farmer|dentist|plumber|electrician|carpenter|pharmacist|student|vicar|pilot|mechanic|midwife|carer|librarian|journalist|hairdresser|scientist|professor|manager|postman|driver)\b", rest)
    if job:
        attrs["job"] = job.group("j")
    if re.search(r"(?:^|\s)(?:who |and )?(?:has )?(?:passed away|died|passed)\b", rest):
        attrs["deceased"] = True
    bday = re.match(rf"\s*(?:'s)? birthday is (?:on )?(?P<d>{DAY_MONTH_RE})", rest)
    if bday and parse_day_month(bday.group("d")):
        attrs["birthday"] = "%02d-%02d" % parse_day_month(bday.group("d"))
    visit = re.search(rf"\s*(?:is |'s )?(?:coming|visiting|coming to visit|coming round|coming over|coming to see me) {WHEN_RE}", rest)
    if visit:
        attrs["visit_when"] = visit.group("when")
        d = resolve_when(visit.group("when"), today)
        attrs["visit_date"] = d.isoformat() if d else None
    return attrs


def _people(orig: str, low: str, today: date, known: dict[str, str]) -> list[Candidate]:
    out: list[Candidate] = []
    for m in re.finditer(rf"\bmy (?P<late>late )?(?P<rel>{REL_RE})\b", low):
        rel = RELATIONS[m.group("rel")]
        after = low[m.end():]
        name, rest_at = "", m.end()
        n = re.match(rf"{NAMING}(?P<n>[a-z][a-z'\-]*)", after)
        if n and _valid_name(n.group("n").removesuffix("'s")):
            name = _proper(orig, low, m.end() + n.start("n"), m.end() + n.end("n")).removesuffix("'s")  # "betty's"
            rest_at = m.end() + n.end()
        elif re.match(r" is (?P<n>[a-z][a-z'\-]*)$", after) and _valid_name(after.split()[1]):
            name = after.split()[1].title()  # "my daughter is susan" (end of sentence only)
            rest_at = len(low)
        attrs = _person_attrs(low[rest_at:], orig[rest_at:], today)
        if m.group("late"):
            attrs["deceased"] = True
        if name or attrs:
            out.append(Candidate("person", name, rel, attrs, orig))
    for m in re.finditer(rf"\b(?P<n>[a-z][a-z'\-]*) is my (?P<late>late )?(?P<rel>{REL_RE})\b", low):
        if _valid_name(m.group("n")):
            attrs = {"deceased": True} if m.group("late") else {}
            out.append(Candidate("person", _proper(orig, low, m.start("n"), m.end("n")), RELATIONS[m.group("rel")], attrs, orig))
    words = set(re.findall(r"[a-z0-9'\-]+", low))
    for key, proper in known.items():  # updates about people she already told us about
        if not (key in words or (" " in key and key in low)):
            continue  # a set lookup, not a regex per known name: she may know thousands of people
        for m in re.finditer(rf"\b{re.escape(key)}\b", low):
            if any(c.subject.lower() == key for c in out):
                continue
            attrs = _person_attrs(low[m.end():], orig[m.end():], today)
            if attrs:
                out.append(Candidate("person", proper, "", attrs, orig))
    return out


def _pets(orig: str, low: str) -> list[Candidate]:
    out = []
    pats = [rf"\bi (?:have|'ve got|have got|had|used to have) (?:a|an|one|two|an old|a little|a lovely) (?:little |old |big |young )?(?P<sp>{PET_RE})(?: called| named|, ) (?P<n>[a-z][a-z'\-]*)",
            rf"\bmy (?:little |old )?(?P<sp>{PET_RE}){NAMING}(?P<n>[a-z][a-z'\-]*)"]
    for pat in pats:
        for m in re.finditer(pat, low):
            if _valid_name(m.group("n")):
                rest = low[m.end():m.end() + 40]  # "my dog bess died last week"
                dead = re.search(r"\bi had\b|\bused to have\b", m.group(0)) or re.match(
                    r"\s*(?:has |had )?(?:died|passed away|passed|was put down|was put to sleep)\b", rest)
                attrs = {"deceased": True} if dead else {}
                out.append(Candidate("pet", _proper(orig, low, m.start("n"), m.end("n")), m.group("sp"), attrs, orig))
    return out


def _self(orig: str, low: str, today: date) -> list[Candidate]:
    out = []
    m = re.search(r"\bmy name is (?P<n>[a-z][a-z'\-]*)(?P<n2> [a-z][a-z'\-]*)?", low)
    if m and _valid_name(m.group("n")):
        end = m.end("n2") if m.group("n2") and _valid_name(m.group("n2").strip()) else m.end("n")
        out.append(Candidate("name", _proper(orig, low, m.start("n"), end), said=orig))
    m = re.search(r"\b(?:call me|i like to be called|i prefer to be called|everyone calls me|people call me|my friends call me|i'm called|i am called|i go by) (?P<n>[a-z][a-z'\-]*)", low)
    if m and _valid_name(m.group("n")):
        out.append(Candidate("preferred_name", _proper(orig, low, m.start("n"), m.end("n")), said=orig))
    m = re.search(rf"\bi (?:live|'ve lived|have lived|moved|now live) (?:in|to) (?P<p>[a-z'\-]+(?: [a-z'\-]+){{0,3}}?){PLACE_END}", low)
    if m and _valid_place(m.group("p")):
        out.append(Candidate("home", _proper(orig, low, m.start("p"), m.end("p")), said=orig))
    m = re.search(rf"\b(?:my birthday is|my birthday's|i was born on) (?:on )?(?P<d>{DAY_MONTH_RE})(?: (?:in )?(?P<y>1[89]\d\d))?", low)
    if m and parse_day_month(m.group("d")):
        attrs: dict[str, Any] = {"date": "%02d-%02d" % parse_day_month(m.group("d"))}
        if m.group("y"):
            attrs["year"] = int(m.group("y"))
        out.append(Candidate("birthday", "", attrs=attrs, said=orig))
    m = re.search(r"\bi was born in (?P<y>1[89]\d\d)\b", low)
    if m and not any(c.kind == "birthday" for c in out):
        out.append(Candidate("birthday", "", attrs={"year": int(m.group("y"))}, said=orig))
    m = re.search(rf"\bi was born (?:and (?:raised|brought up) )?in (?P<p>[a-z'\-]+(?: [a-z'\-]+){{0,3}}?){PLACE_END}", low)
    if m and _valid_place(m.group("p")) and not m.group("p")[0].isdigit():
        out.append(Candidate("birthplace", _proper(orig, low, m.start("p"), m.end("p")), said=orig))
    return out


def _object(orig: str, low: str, start: int) -> str | None:
    m = re.match(rf"(?P<x>.+?){LIKE_END}", low[start:])
    end = start + (m.end("x") if m else len(low) - start)
    tail = re.search(r"(?: (?:any ?more|very much|so much|at all|a lot|really|either|now|these days|too|as well))+$", low[start:end])
    if tail:
        end = start + tail.start()
    words = low[start:end].split()
    if not words or words[0] in BAD_OBJECTS or any(w in RELATIONS for w in words) or len(words) > 6:
        return None
    return orig[start:end].strip()


def _tastes(orig: str, low: str) -> list[Candidate]:
    out = []
    for m in re.finditer(r"\bi (?:really |do |also |just |absolutely )?(?:like|love|enjoy|adore) ", low):
        x = _object(orig, low, m.end())
        if x:
            out.append(Candidate("like", x, said=orig))
    for m in re.finditer(r"\b(?:i (?:really |just )?(?:don't|do not|never) (?:really )?(?:like|enjoy|care for)|i hate|i can't stand|i cannot stand|i dislike|i'm not (?:a fan of|keen on|fond of)|i am not (?:a fan of|keen on|fond of)) ", low):
        x = _object(orig, low, m.end())
        if x:
            out.append(Candidate("dislike", x, said=orig))
    for m in re.finditer(r"\bmy (?:favourite|favorite) (?P<c>[a-z]+(?: [a-z]+)?) is (?P<x>.+)", low):
        x = _object(orig, low, m.start("x"))
        if x:
            out.append(Candidate("favourite", x, m.group("c"), said=orig))
    return out


def _health(orig: str, low: str) -> list[Candidate]:
    out = []
    for m in re.finditer(rf"\bi(?: have| 've got|'ve got| have got| suffer from| suffer with| was diagnosed with| 've been diagnosed with|'ve been diagnosed with| have been diagnosed with| live with| wear) (?P<c>{COND_RE})\b", low):
        out.append(Candidate("health", m.group("c"), said=orig))
    if re.search(r"\bi'?m diabetic\b|\bi am diabetic\b", low):
        out.append(Candidate("health", "diabetes", said=orig))
    for m in re.finditer(rf"\b(?:i (?:take|'m on|am on|have to take|need to take|use|'m taking|am taking)|(?:the )?doctor (?:has )?(?:put|started) me on) (?:my )?(?P<med>{MED_RE})\b(?: tablets?| pills?)?(?: (?P<rest>.*))?", low):
        attrs = {}
        t = re.match(TIMING_RE, (m.group("rest") or "").strip())
        if t:
            attrs["timing"] = t.group("timing")
        out.append(Candidate("medication", m.group("med").removeprefix("my "), attrs=attrs, said=orig))
    if MONEY_RE.search(low):
        out.append(Candidate("money", "", said=orig))
    return out


def _appointments(orig: str, low: str, today: date) -> list[Candidate]:
    out = []
    pats = [rf"\bi(?:'m| am|'ll be| will be| have to| need to| must) (?:going |off )?(?:to go )?to (?:see )?{PLACES_TO_GO}(?: appointment)? {WHEN_RE}",
            rf"\bi(?:'m| am) (?:seeing|visiting) {PLACES_TO_GO} {WHEN_RE}",
            rf"\bi(?: have|'ve got| have got) (?:a |an |my )?(?P<what>(?:doctor's|doctors|doctor|dentist|hospital|optician|hair|hairdresser|clinic|eye|hearing|gp) )?appointment(?: with (?:the |my )?(?P<what2>\w+))? {WHEN_RE}"]
    for pat in pats:
        for m in re.finditer(pat, low):
            what = (m.groupdict().get("what") or m.groupdict().get("what2") or "an").strip()
            what = re.sub(r"^(?:the |my |a )", "", what).replace("doctors", "doctor's").rstrip("'s") if what != "an" else ""
            what = {"doctor": "the doctor", "doctor'": "the doctor", "gp": "the GP", "hair": "the hairdresser",
                    "hairdresser": "the hairdresser", "dentist": "the dentist", "optician": "the optician",
                    "hospital": "the hospital", "eye": "the eye clinic", "hearing": "the hearing clinic"}.get(what, f"the {what}" if what else "an appointment")
            d = resolve_when(m.group("when"), today)
            out.append(Candidate("appointment", what, attrs={"when": m.group("when"), "date": d.isoformat() if d else None}, said=orig))
    return out


def extract_candidates(text: str, today: date, known: dict[str, str] | None = None) -> list[Candidate]:
    """Facts in one utterance. `known` maps lower-case names she mentioned before → their proper form."""
    if has_secret(text):
        return []
    found: list[Candidate] = []
    for orig, low in clause_pairs(text):
        found += _self(orig, low, today)
        found += _people(orig, low, today, known or {})
        found += _pets(orig, low)
        found += _health(orig, low)
        found += _appointments(orig, low, today)
        if not any(c.kind in ("money",) for c in found):
            found += _tastes(orig, low)
    return found


LLM_PROMPT = """Extract facts the speaker states about her own life as JSON lines, one object per fact:
{{"kind": one of {kinds}, "subject": name or thing, "relation": e.g. "daughter" or "cat", "attrs": {{}}}}
Write nothing else. If there are no facts, write [].
Speaker: {text}
Facts:"""


def llm_extractor(complete: Callable[[str], str]) -> Callable[[str], list[Candidate]]:
    """Wrap a text-completion function (prompt → text) as an extra fact extractor.

    Only for a capable (1B+ instruct) model; malformed output is ignored, and
    health or money facts from the LLM are dropped (they need her yes first).
    """

    def run(text: str) -> list[Candidate]:
        raw = complete(LLM_PROMPT.format(kinds=", ".join(k for k in KINDS if k not in SENSITIVE_KINDS), text=text))
        out = []
        for blob in re.findall(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)?\}", raw):
            try:
                item = json.loads(blob)
            except ValueError:
                continue
            kind = str(item.get("kind", ""))
            if kind not in KINDS or kind in SENSITIVE_KINDS or not isinstance(item.get("attrs", {}), dict):
                continue
            subject = str(item.get("subject", "")).strip()[:60]
            if kind not in ("birthday",) and not subject:
                continue
            out.append(Candidate(kind, subject, str(item.get("relation", ""))[:30], dict(item.get("attrs") or {}), text))
        log.debug("LLM extraction found %d facts", len(out))
        return out

    return run
