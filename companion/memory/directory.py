"""The people seam for the reply flow: who her words are about, who is alive, who she is in touch with.

The loop asks through loop.skills.People; this answers from memory's facts and
from her words this turn (she may name someone memory has never heard of: "my
sister Doreen died last month"). A person memory knows has died is never made
alive again by a loose word, and her own name is never taken for someone else.
"""

from __future__ import annotations

import re
from datetime import date

from companion.config import Settings
from companion.loop.skills import Person, PersonStatus
from companion.memory.extract import extract_candidates
from companion.memory.model import PETS, RELATIONS
from companion.memory.people import her_names, persons, suggestable
from companion.store.store import Store

# words that say the person in the same sentence has died
_DEATH = re.compile(r"\b(?:died|dead|passed away|passed on|passed|funeral|late|put down|put to sleep|buried|"
                    r"cremat\w*|ashes|grave|lost (?:my|our|him|her)|since (?:he|she) went|gone now|no longer with us)\b")
_REL = "|".join(sorted((re.escape(r) for r in RELATIONS), key=len, reverse=True))
_PET = "|".join(sorted(PETS, key=len, reverse=True))
_MY = re.compile(rf"\b(?:my|our)(?: (?:late|dear|old|little|poor))* (?P<rel>{_REL}|{_PET})\b")


_BREAK = re.compile(r"\b(?:and|but|so|because|whereas|while)\b|[,.;!?]")


def _clause(low: str, start: int, end: int) -> str:
    """The clause of `low` around [start, end): death words elsewhere in the sentence are about someone else."""
    before = [m.end() for m in _BREAK.finditer(low, 0, start)]
    after = _BREAK.search(low, end)
    return low[(before[-1] if before else 0):(after.start() if after else len(low))]


class PeopleDirectory:
    """memory's people as loop.skills.Person values (implements loop.skills.People)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def contacts(self) -> list[Person]:
        """Living people she is in touch with, closest first (configured contacts first)."""
        known = {p.name.lower(): p for p in persons(self.store, self.settings) if p.name}
        return [known.get(n.lower(), Person(n)) for n in suggestable(self.store, self.settings)]

    def deceased(self) -> list[Person]:
        """The people and pets she has lost."""
        return [p for p in persons(self.store, self.settings) if not p.alive]

    def mentioned(self, text: str, today: date) -> list[Person]:
        """People and pets her words name or refer to, in the order she said them, with their status."""
        low = " " + re.sub(r"[^\w' -]+", " ", text.lower().replace("’", "'")) + " "
        known = [p for p in persons(self.store, self.settings) if p.name]
        mine = her_names(self.store, self.settings)
        found: list[tuple[int, Person]] = []

        remembered = {p.name.lower() for p in known}

        def add(at: int, person: Person) -> None:
            for i, (_, p) in enumerate(found):
                if (person.name and p.name.lower() == person.name.lower()) or (
                        not person.name and p.relation == person.relation):
                    if not p.name and person.name:
                        found[i] = (found[i][0], person)  # "my husband" + "Harold" → Harold
                    elif not person.alive and p.alive and p.name.lower() not in remembered:
                        # "I lost my wife Joan": the words about "my wife" say what happened to Joan
                        found[i] = (found[i][0], Person(p.name, p.relation, person.status, False))
                    return
            found.append((at, person))

        for p in known:  # names memory knows
            m = re.search(rf"\b{re.escape(p.name.lower())}(?:'s)?\b", low)
            if m:
                add(m.start(), p)
        for name in mine:
            m = re.search(rf"\b{re.escape(name)}\b", low)
            if m and len(name) > 2:
                add(m.start(), Person(name.title(), "", PersonStatus.HERSELF))
        for c in extract_candidates(text, today, {p.name.lower(): p.name for p in known}):  # people new to memory
            c.subject = re.sub(r"'s$", "", c.subject)  # "my friend betty's funeral" is about Betty
            if c.kind not in ("person", "pet") or not c.subject or c.subject.lower() in mine:
                continue
            late = bool(c.attrs.get("deceased"))
            same = [p for p in known if p.name.lower() == c.subject.lower()]
            if same:
                if late and same[0].alive:  # she is telling us now: "Joan died on Tuesday"
                    found[:] = [(at, q) for at, q in found if q.name.lower() != c.subject.lower()]
                    add(max(low.find(c.subject.lower()), 0), Person(same[0].name, same[0].relation,
                                                                   PersonStatus.PET if same[0].status is PersonStatus.PET
                                                                   else PersonStatus.DECEASED, False))
                continue
            status = PersonStatus.PET if c.kind == "pet" else (PersonStatus.DECEASED if late else PersonStatus.LIVING)
            at = low.find(c.subject.lower())
            add(at if at >= 0 else 0, Person(c.subject, c.relation, status, not late))
        for m in _MY.finditer(low):  # "my husband", "our old dog"
            spoken = m.group("rel")
            relation = RELATIONS.get(spoken, spoken)
            same = [p for p in known if p.relation == relation]
            if len(same) == 1:
                add(m.start(), same[0])
            elif not same:
                pet = spoken in PETS
                alive = not (_DEATH.search(_clause(low, m.start(), m.end())) or " late " in m.group(0) + " ")
                status = PersonStatus.PET if pet else (PersonStatus.LIVING if alive else PersonStatus.DECEASED)
                add(m.start(), Person("", relation, status, alive))
        return [p for _, p in sorted(found, key=lambda x: x[0])]
