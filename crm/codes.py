"""Short element codes: `L12` lead, `C3` contact, `CO2` company, `D7` deal.

The letters are Bitrix24's export codes. People on a Russian keyboard type Cyrillic
look-alikes (`Д7`, `С3`, `СО2`, `Л12`), so those are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.enums import EntityType
from crm.numbers import MAX_ID

PREFIXES: dict[EntityType, str] = {
    EntityType.LEAD: "L",
    EntityType.CONTACT: "C",
    EntityType.COMPANY: "CO",
    EntityType.DEAL: "D",
}
_BY_PREFIX = {prefix: entity for entity, prefix in PREFIXES.items()}
_LOOKALIKES = str.maketrans(
    {"Д": "D", "Л": "L", "С": "C", "О": "O", "д": "D", "л": "L", "с": "C", "о": "O"}
)
_CODE = re.compile(r"^(CO|C|L|D)([0-9]{1,12})$")  # ASCII digits: "D٣" is no code


@dataclass(frozen=True, slots=True)
class ElementRef:
    entity: EntityType
    id: int

    @property
    def code(self) -> str:
        return f"{PREFIXES[self.entity]}{self.id}"

    def __str__(self) -> str:
        return self.code


def parse_code(text: str) -> ElementRef | None:
    """`d7`, `D7`, `Д7`, `/D7` → ElementRef(DEAL, 7); anything else → None."""
    candidate = text.strip().lstrip("/").split("@", 1)[0].translate(_LOOKALIKES).upper()
    match = _CODE.match(candidate)
    if match is None:
        return None
    number = int(match.group(2))
    if not 0 < number <= MAX_ID:
        return None
    return ElementRef(_BY_PREFIX[match.group(1)], number)


# Element types as people name them in a command (`/fields deal`, `/export kontakty`), in the
# three languages, singular and plural, case-insensitively.
ENTITY_WORDS: dict[str, EntityType] = {
    word: entity
    for entity, words in {
        EntityType.LEAD: "lead leads leady leadów лид лиды лидов",
        EntityType.CONTACT: "contact contacts kontakt kontakty kontaktów "
        "контакт контакты контактов",
        EntityType.COMPANY: "company companies firma firmy firm компания компании компаний",
        EntityType.DEAL: "deal deals deale deali transakcja transakcje сделка сделки сделок",
    }.items()
    for word in words.split()
}


def entity_named(word: str) -> EntityType | None:
    return ENTITY_WORDS.get(word.strip().casefold())
