"""What a memory is (kinds, relations, importance) and how it is said back in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from companion.language import say_date
from companion.memory.text import say_month_day, to_second_person
from companion.store.journal import EPISODES, FACTS

__all__ = ["EPISODES", "FACTS", "KINDS", "Memory", "render", "search_text"]

# kinds of fact; the ones about herself are single-valued (a new one replaces the old)
SELF_KINDS = ("name", "preferred_name", "home", "birthday", "birthplace")
KINDS = SELF_KINDS + ("person", "pet", "health", "medication", "like", "dislike", "favourite",
                      "appointment", "date", "money", "note")
SENSITIVE_KINDS = frozenset({"health", "medication", "money"})  # stored only after she says yes

RELATIONS = {  # spoken form -> canonical relation
    "husband": "husband", "hubby": "husband", "wife": "wife", "partner": "partner",
    "daughter": "daughter", "son": "son", "daughter in law": "daughter-in-law",
    "daughter-in-law": "daughter-in-law", "son in law": "son-in-law", "son-in-law": "son-in-law",
    "grandson": "grandson", "granddaughter": "granddaughter", "grandchild": "grandchild",
    "great grandson": "great-grandson", "great granddaughter": "great-granddaughter",
    "sister": "sister", "brother": "brother", "niece": "niece", "nephew": "nephew", "cousin": "cousin",
    "mother": "mother", "mum": "mother", "mom": "mother", "father": "father", "dad": "father",
    "friend": "friend", "best friend": "best friend", "neighbour": "neighbour", "neighbor": "neighbour",
    "carer": "carer", "caregiver": "carer", "doctor": "doctor", "aunt": "aunt", "uncle": "uncle",
    "sister in law": "sister-in-law", "brother in law": "brother-in-law", "boyfriend": "partner",
    "girlfriend": "partner", "stepdaughter": "stepdaughter", "stepson": "stepson", "godson": "godson",
    "goddaughter": "goddaughter", "vicar": "vicar", "cleaner": "cleaner",
}
CLOSENESS = {"husband": 0, "wife": 0, "partner": 0, "daughter": 1, "son": 1, "grandson": 2,
             "granddaughter": 2, "grandchild": 2, "sister": 3, "brother": 3, "best friend": 3}
FAMILY_RELATIONS = frozenset(CLOSENESS) | {"daughter-in-law", "son-in-law", "niece", "nephew", "cousin", "mother",
                                 "father", "great-grandson", "great-granddaughter", "aunt", "uncle",
                                 "sister-in-law", "brother-in-law", "stepdaughter", "stepson"}
PETS = ("cat", "kitten", "dog", "puppy", "budgie", "parrot", "canary", "rabbit", "hamster", "tortoise",
        "goldfish", "fish", "horse", "bird", "guinea pig", "pony")

IMPORTANCE = {"name": 1.0, "preferred_name": 1.0, "home": 0.7, "birthday": 0.8, "birthplace": 0.5,
              "person": 0.7, "pet": 0.7, "health": 0.8, "medication": 0.8, "like": 0.5, "dislike": 0.5,
              "favourite": 0.5, "appointment": 0.8, "date": 0.7, "money": 0.6, "note": 0.5, "episode": 0.4}

# extra search words so "family", "pills" or "pets" find the right memories
KIND_WORDS = {"name": "name called", "preferred_name": "name called", "home": "live home house town",
              "birthday": "birthday born birth", "birthplace": "born grew up", "pet": "pet animal",
              "health": "health condition illness doctor", "medication": "medicine medication pill tablet drug",
              "like": "like love enjoy hobby", "dislike": "dislike hate", "favourite": "favourite like",
              "appointment": "appointment plan visit week", "date": "date anniversary", "money": "money",
              "person": "", "note": "", "episode": ""}
RELATION_WORDS = {"daughter": "child children kid family", "son": "child children kid family",
                  "grandson": "grandchild grandchildren grandkid family", "granddaughter": "grandchild grandchildren grandkid family",
                  "husband": "family married", "wife": "family married", "partner": "family"}


@dataclass(frozen=True)
class Memory:
    """One fact or episode as the skill sees it (a stored document, typed)."""

    table: str
    id: int
    kind: str
    subject: str = ""
    relation: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    said: str = ""
    at: str = ""
    updated: str = ""
    importance: float = 0.5
    source: str = "speech"
    mood: dict[str, Any] | None = None
    about: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Short id for people and the CLI: f12 (fact 12), e3 (episode 3)."""
        return f"{self.table[0]}{self.id}"

    @property
    def when(self) -> datetime | None:
        """Last time this memory changed."""
        try:
            return datetime.fromisoformat(self.updated or self.at)
        except ValueError:
            return None

    @classmethod
    def from_doc(cls, table: str, doc: dict[str, Any]) -> "Memory":
        """A store document → Memory (unknown keys are ignored; a malformed field is dropped, never fatal)."""
        attrs, mood, about = doc.get("attrs"), doc.get("mood"), doc.get("about")
        try:
            importance = float(doc.get("importance", 0.5))
        except (TypeError, ValueError):
            importance = 0.5
        return cls(table=table, id=int(doc["id"]), kind=str(doc.get("kind") or "note"),
                   subject=_text(doc.get("subject")), relation=_text(doc.get("relation")),
                   attrs=dict(attrs) if isinstance(attrs, dict) else {}, said=_text(doc.get("said")),
                   at=_text(doc.get("at")), updated=_text(doc.get("updated")), importance=importance,
                   source=_text(doc.get("source")) or "speech", mood=mood if isinstance(mood, dict) else None,
                   about=tuple(a for a in about if isinstance(a, str)) if isinstance(about, list) else ())

    def to_doc(self) -> dict[str, Any]:
        """Memory → store document (without the id)."""
        doc: dict[str, Any] = {"kind": self.kind, "subject": self.subject, "relation": self.relation,
                               "attrs": self.attrs, "said": self.said, "at": self.at, "updated": self.updated,
                               "importance": self.importance, "source": self.source}
        if self.table == EPISODES:
            doc.update(mood=self.mood, about=list(self.about))
        return doc

    def texts(self) -> list[str]:
        """Every text a name could appear in: the fields (subject, about, attributes), then her words and
        the rendered sentence last (for whole-name matching)."""
        values = [v for v in self.attrs.values() if isinstance(v, str)]
        values += [n for n in self.attrs.get("notes", []) if isinstance(n, str)] if isinstance(
            self.attrs.get("notes"), list) else []
        return [self.subject, *self.about, *values, self.said, render(self, you=False)]


def _text(value: Any) -> str:
    """A stored text field: None and non-text become ''."""
    return value if isinstance(value, str) else ("" if value is None or isinstance(value, (dict, list)) else str(value))


def _person_details(attrs: dict[str, Any], you: bool) -> list[str]:
    out = []
    if attrs.get("deceased"):
        out.append("has passed away")
    if attrs.get("age") is not None:
        out.append(f"is {attrs['age']}")
    if attrs.get("lives_in"):
        out.append(f"lives in {attrs['lives_in']}")
    if attrs.get("job"):
        out.append(f"is {'an' if attrs['job'][0] in 'aeiou' else 'a'} {attrs['job']}")
    if attrs.get("birthday"):
        out.append(f"has a birthday on {say_month_day(attrs['birthday'])}")
    if attrs.get("visiting"):
        out.append(f"is visiting {attrs['visiting']}")
    for note in attrs.get("notes", []):
        out.append(note)
    return out


def render(m: Memory, you: bool = True, today: date | None = None) -> str:
    """One sentence: to her ('Your daughter Susan lives in Leeds.') or about her ('Her daughter...')."""
    try:
        return _render(m, you, today)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError):  # a hand-edited file: say it plainly
        text = m.subject or m.said or m.kind
        return f"{'Your' if you else 'Her'} {m.kind.replace('_', ' ')}: {text}."


def _render(m: Memory, you: bool, today: date | None) -> str:
    your, You, Your = ("your", "You", "Your") if you else ("her", "She", "Her")
    s_ = "" if you else "s"
    a, sub = m.attrs, m.subject
    if m.kind == "name":
        return f"{Your} name is {sub}."
    if m.kind == "preferred_name":
        return f"{You} like{s_} to be called {sub}."
    if m.kind == "home":
        return f"{You} live{s_} in {sub}."
    if m.kind == "birthplace":
        return f"{You} {'were' if you else 'was'} born in {sub}."
    if m.kind == "birthday":
        parts = [say_month_day(a["date"])] if a.get("date") else []
        if a.get("year"):
            parts.append(str(a["year"]))
        return f"{Your} birthday is {' '.join(parts) or sub}." if parts else f"{Your} birthday: {sub}."
    if m.kind == "person":
        late = "late " if a.get("deceased") else ""
        who = f"{Your} {late}{m.relation} {sub}".strip() if m.relation else (sub or "someone")
        details = [d for d in _person_details(a, you) if not (late and d == "has passed away")]
        if not details:
            return f"{who[0].upper()}{who[1:]}." if m.relation else f"{You} know{s_} {sub}."
        return f"{who[0].upper()}{who[1:]} " + ", ".join(details[:-1]) + (" and " if len(details) > 1 else "") + details[-1] + "."
    if m.kind == "pet":
        species = m.relation or "pet"
        verb = ("had" if a.get("deceased") else ("have" if you else "has"))
        named = f" called {sub}" if sub else ""
        return f"{You} {verb} {'an' if species[0] in 'aeiou' else 'a'} {species}{named}."
    if m.kind == "health":
        return f"{You} ha{'ve' if you else 's'} {sub}."
    if m.kind == "medication":
        timing = f" {a['timing']}" if a.get("timing") else ""
        return f"{You} take{s_} {sub}{timing}."
    if m.kind == "like":
        return f"{You} like{s_} {sub}."
    if m.kind == "dislike":
        return f"{You} {'do' if you else 'does'}n't like {sub}."
    if m.kind == "favourite":
        return f"{Your} favourite {m.relation or 'thing'} is {sub}."
    if m.kind == "appointment":
        d = _date(a.get("date"))
        when = f"on {say_date(d)}" if d else a.get("when", "")
        past = d is not None and today is not None and d < today
        if a.get("with"):
            return f"{a['with']} {'came' if past else 'is coming'} to visit {when}.".strip()
        verb = ("went" if past else ("are going" if you else "is going"))
        return f"{You} {verb} to {sub} {when}.".replace("  ", " ").strip()
    if m.kind == "date":
        d = a.get("date")
        return f"{Your} {sub} is on {say_month_day(d)}." if d else f"{Your} {sub}."
    if m.kind == "episode":
        d = m.when
        on = f"On {say_date(d.date(), weekday=False)} " if d else ""
        mood = (m.mood or {}).get("category")
        feeling = f" ({'you' if you else 'she'} sounded {mood})" if mood and mood != "neutral" else ""
        said = m.said.strip().rstrip(".!?")
        text = to_second_person(said) if you else said
        return f"{on}{'you told me' if you else 'she told you'}: {text}{feeling}."
    said = m.said.strip().rstrip(".!?")
    text = to_second_person(said) if you else f"she said: {said}"
    return f"{text[0].upper()}{text[1:]}."


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def search_text(m: Memory) -> str:
    """Everything retrieval should match for this memory."""
    extra = [KIND_WORDS.get(m.kind, ""), RELATION_WORDS.get(m.relation, ""), m.relation, m.subject,
             " ".join(str(v) for v in m.attrs.values() if isinstance(v, (str, int))), " ".join(m.about)]
    if m.relation in FAMILY_RELATIONS:
        extra.append("family")
    return " ".join([render(m, you=False), m.said, *extra])
