"""People's names: which words are first names and surnames, and when two names are one person.

Telegram-free and database-free. Used by the one-line reader (crm/parsing.py) to find a person
wherever they stand in a line, and by the duplicate check (crm/elements.py) to decide whether a
new name is "very similar" to a stored one.

- Polish and English first names (with Latin spellings of Russian ones) and their diminutives
  come from `crm/data/first_names.txt`, common surnames from `crm/data/surnames.txt`; Russian
  names written in Cyrillic come from pymorphy3's dictionary (tags `Name`, `Surn`, `Patr`),
  which also gives the nominative of a declined name ("с Иваном Петровым" → Иван Петров).
- Declined Polish names ("dla Anny Nowak", "z Piotrem Wiśniewskim") are put in the nominative
  with Morfeusz 2 (the SGJP dictionary: its `imię`/`nazwisko` readings with case and gender);
  a declined first name counts only when its nominative is in our first-name list, and a
  surname the dictionary does not know is declined back by its ending.
- Everything is loaded once, lazily, on first use; word analyses are cached.

Two names are the same person (`same_person`) when their words pair up, in any order, after
folding case, diacritics and ё, with Russian names put in the nominative, and at most one pair
differs by one typo (one letter changed, added, dropped or two swapped) or is an initial
(`J.` ↔ `Jan`). Two different known first names are never a typo of each other (`Maria` and
`Marta`, `Jan` and `Jana`), nor are two different known surnames (`Kotow`/`Krotow`), so people
who only share a surname are not flagged. Variants of one first name (`Katarzyna`, `Kasia`)
are the same name.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

__all__ = [
    "PersonWord",
    "analyse",
    "candidate_needles",
    "fold_word",
    "is_cyrillic",
    "is_known_russian",
    "name_readings",
    "name_tokens",
    "polish_nominative",
    "russian_nominative",
    "russian_readings",
    "same_company",
    "same_person",
    "search_key",
]

_CYRILLIC_RE = re.compile(r"[Ѐ-ӿ]")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?")
_HONORIFICS = frozenset(
    {"pan", "pani", "panu", "panem", "panią", "mr", "mrs", "ms", "dr", "господин", "госпожа",
     "г-н", "г-жа"}
)  # fmt: skip
# Letters that NFKD does not decompose.
_FOLD_TABLE = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "ё": "е", "’": "'"})
_PL_SURNAME_ENDINGS = (
    "ski", "ska", "cki", "cka", "dzki", "dzka", "wicz", "owicz", "ewicz", "czyk", "czak",
    "czuk", "niak", "siak", "ziak", "owski", "owska", "ewski", "ewska", "iński", "ińska",
)  # fmt: skip
_RU_LATIN_SURNAME_ENDINGS = ("ov", "ova", "ev", "eva", "in", "ina", "enko", "sky", "skaya")


def is_cyrillic(word: str) -> bool:
    return _CYRILLIC_RE.search(word) is not None


@lru_cache(maxsize=16384)
def fold_word(word: str) -> str:
    """`Łukasz` → `lukasz`, `Алёна` → `алена`, `O’Brien` → `o'brien`: case and marks folded."""
    lowered = word.casefold().translate(_FOLD_TABLE)
    decomposed = unicodedata.normalize("NFKD", lowered)
    # Keep й (и + breve) whole: it is a letter of its own in Russian, not a marked и.
    kept = "".join(
        ch
        for i, ch in enumerate(decomposed)
        if not unicodedata.combining(ch) or (ch == "\u0306" and decomposed[i - 1 : i] == "и")
    )
    return unicodedata.normalize("NFC", kept).rstrip(".")


# --- dictionaries -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Dictionaries:
    first: dict[str, frozenset[int]]  # folded first name → the groups (one name's variants)
    ambiguous: frozenset[str]  # first names that are also ordinary words
    surnames: frozenset[str]


def _data_lines(filename: str) -> Iterable[tuple[str, str]]:
    section = ""
    text = resources.files("crm").joinpath("data", filename).read_text(encoding="utf-8")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        yield section, line


@cache
def _dictionaries() -> _Dictionaries:
    first: dict[str, set[int]] = {}
    ambiguous: set[str] = set()
    for group, (section, line) in enumerate(_data_lines("first_names.txt")):
        for word in line.split():
            key = fold_word(word)
            if section == "ambiguous":
                ambiguous.add(key)
            first.setdefault(key, set()).add(group)
    surnames: set[str] = set()
    for _, line in _data_lines("surnames.txt"):
        for word in line.split():
            key = fold_word(word)
            surnames.add(key)
            for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
                if key.endswith(male):
                    surnames.add(key[: -len(male)] + female)
            if key.endswith(("ov", "ev", "in")):
                surnames.add(key + "a")
    return _Dictionaries(
        {k: frozenset(v) for k, v in first.items()}, frozenset(ambiguous), frozenset(surnames)
    )


@cache
def _morph() -> Any:
    import pymorphy3  # a 0.2 s load: only when Cyrillic is read for the first time

    return pymorphy3.MorphAnalyzer(lang="ru")


# The caches are bounded for the memory budget of an instance (< 200 MB RSS): a Russian
# parse holds pymorphy3 objects of about a kilobyte, and an import of 100,000 new names
# would otherwise keep every one of them (BENCHMARKS.md, CSV import).
@lru_cache(maxsize=4096)
def _ru_parses(word: str) -> tuple[Any, ...]:
    return tuple(_morph().parse(word))


# --- one word ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PersonWord:
    """What one word can be in a person's name."""

    first: bool  # a first name
    ambiguous: bool  # a first name that is also an ordinary word (May, Вера)
    surname: bool  # a known surname or one with a surname's ending
    known_surname: bool  # listed or in the Russian dictionary (not only by its ending)
    patronymic: bool  # Иванович, Сергеевна


@lru_cache(maxsize=8192)
def analyse(word: str) -> PersonWord:
    key = fold_word(word)
    if len(key) < 2:
        return PersonWord(False, False, False, False, False)
    if is_cyrillic(word):
        return _analyse_russian(word.rstrip("."))
    books = _dictionaries()
    declined = _pl_declined_first(word)
    first = key in books.first or declined
    known_surname = key in books.surnames
    surname = (
        known_surname
        or (len(key) >= 5 and key.endswith(_PL_SURNAME_ENDINGS))
        or (len(key) >= 7 and key.endswith(_PL_DECLINED_SURNAME_ENDINGS))
        or (len(key) >= 5 and not first and key.endswith(_RU_LATIN_SURNAME_ENDINGS))
    )
    return PersonWord(first, key in books.ambiguous, surname, known_surname, False)


def _analyse_russian(word: str) -> PersonWord:
    parses = _ru_parses(word.lower())
    known = _morph().word_is_known(word.lower())
    top = parses[0] if parses else None
    name = [p for p in parses if "Name" in p.tag]
    surn = [p for p in parses if "Surn" in p.tag]
    patr = [p for p in parses if "Patr" in p.tag]
    first = bool(name) and known
    ambiguous = first and top is not None and "Name" not in top.tag
    # Unknown words ending like surnames (-ов, -ева, -ский, -ина) are surnames to the predictor.
    return PersonWord(first, ambiguous, bool(surn), bool(surn) and known, bool(patr))


def is_known_russian(word: str) -> bool:
    """An ordinary word of the Russian dictionary (Москва, поставка), not a guess."""
    return bool(_morph().word_is_known(word.lower()))


def first_name_groups(word: str) -> frozenset[int]:
    return _dictionaries().first.get(fold_word(word), frozenset())


# --- Russian declension -----------------------------------------------------------------------
_RU_CASES = ("gent", "datv", "accs", "ablt", "loct", "voct", "gen2", "acc2", "loc2")


def russian_nominative(words: Sequence[str]) -> list[str]:
    """`["Иваном", "Петровым"]` → `["Иван", "Петров"]`; words already nominative stay as typed.

    The case and gender come from the first name; the other words take the reading of the same
    case and gender (`Анной Петровой` → Анна Петрова, not Петров). When the form fits two
    people (`Руслану Лебедеву`: to Ruslan Lebedev, or Ruslana Lebedeva as the object) the
    likelier reading is taken; `russian_readings` gives them all.
    """
    return russian_readings(words)[0]


def russian_readings(words: Sequence[str]) -> list[list[str]]:
    if not any(is_cyrillic(w) for w in words):
        return [list(words)]
    parsed = [_ru_parses(w.lower()) if is_cyrillic(w) else () for w in words]
    anchors: list[Any] = []
    for options in parsed:
        anchors = [p for p in options if "Name" in p.tag]
        if anchors:
            break
    if not anchors or any(str(p.tag.case) == "nomn" and "sing" in p.tag for p in anchors):
        return [list(words)]  # Алена is Алена, not the genitive of Ален
    if not _morph().word_is_known(anchors[0].word):
        return [list(words)]  # a guess (a typo such as Маия) is not declined
    readings: list[list[str]] = []
    for anchor in anchors:
        # Grammemes compared as strings: pymorphy3 raises on comparing with one of another kind.
        case, gender = str(anchor.tag.case), str(anchor.tag.gender)
        if case not in _RU_CASES:
            continue
        reading = [
            _nominative(word, options, case, gender)
            for word, options in zip(words, parsed, strict=True)
        ]
        if reading not in readings:
            readings.append(reading)
    return readings or [list(words)]


def _nominative(word: str, options: Sequence[Any], case: str, gender: str) -> str:
    chosen = next(
        (
            p
            for p in options
            if ({"Name", "Surn", "Patr"} & set(p.tag.grammemes))
            and str(p.tag.case) == case
            and (p.tag.gender is None or str(p.tag.gender) == gender or "ms-f" in p.tag)
            and "plur" not in p.tag
        ),
        None,
    )
    inflected = chosen.inflect({"nomn", "sing"}) if chosen is not None else None
    if inflected is None:
        return word
    new = inflected.word.replace("ё", "е") if "ё" not in word.lower() else inflected.word
    return _like(word, new)


def _like(original: str, word: str) -> str:
    """Spell `word` in the case pattern of `original`: ИВАНОМ → ИВАН, Иваном → Иван."""
    if original.isupper():
        return word.upper()
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


# --- Polish declension ------------------------------------------------------------------------
# Oblique forms of -ski/-cki/-dzki surnames (Kowalskiego, Kowalskiej, Nowickim, Kowalską).
_PL_DECLINED_SURNAME_ENDINGS = tuple(
    stem + ending for stem in ("sk", "ck", "dzk") for ending in ("iego", "iemu", "im", "iej", "ą")
)
# A surname the dictionary does not know, declined back by its ending: for each case and
# gender, (ending of the declined form, ending of the nominative), longest first.
_PL_SURNAME_FALLBACK: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("gen", "m"): (("skiego", "ski"), ("ckiego", "cki"), ("dzkiego", "dzki"), ("ego", "y"),
                   ("a", "")),
    ("acc", "m"): (("skiego", "ski"), ("ckiego", "cki"), ("dzkiego", "dzki"), ("ego", "y"),
                   ("a", "")),
    ("dat", "m"): (("skiemu", "ski"), ("ckiemu", "cki"), ("dzkiemu", "dzki"), ("emu", "y"),
                   ("owi", "")),
    ("inst", "m"): (("skim", "ski"), ("ckim", "cki"), ("dzkim", "dzki"), ("kiem", "k"),
                    ("giem", "g"), ("ym", "y"), ("em", "")),
    ("loc", "m"): (("skim", "ski"), ("ckim", "cki"), ("dzkim", "dzki"), ("ym", "y")),
    ("gen", "f"): (("skiej", "ska"), ("ckiej", "cka"), ("dzkiej", "dzka"), ("owej", "owa")),
    ("dat", "f"): (("skiej", "ska"), ("ckiej", "cka"), ("dzkiej", "dzka"), ("owej", "owa")),
    ("loc", "f"): (("skiej", "ska"), ("ckiej", "cka"), ("dzkiej", "dzka"), ("owej", "owa")),
    ("acc", "f"): (("ską", "ska"), ("cką", "cka"), ("dzką", "dzka"), ("ową", "owa")),
    ("inst", "f"): (("ską", "ska"), ("cką", "cka"), ("dzką", "dzka"), ("ową", "owa")),
}  # fmt: skip
# The case a preposition before a person asks for (dla Anny, z Piotrem).
PL_PREPOSITION_CASES = {"dla": "gen", "od": "gen", "do": "gen", "u": "gen", "z": "inst",
                        "ze": "inst"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _PlReading:
    lemma: str  # the nominative singular, as the dictionary spells it
    kind: str  # "imię" (a first name) or "nazwisko" (a surname)
    case: str  # nom, gen, dat, acc, inst, loc, voc
    gender: str  # "m" or "f"


@cache
def _morfeusz() -> Any:
    import morfeusz2  # loaded on the first Polish name read

    return morfeusz2.Morfeusz(expand_tags=True)


@lru_cache(maxsize=4096)
def _pl_readings(word: str) -> tuple[_PlReading, ...]:
    """The singular first-name and surname readings of a Latin word, whatever its case."""
    if is_cyrillic(word) or not word.isalpha():
        return ()
    capitalised = word[:1].upper() + word[1:].lower()  # the dictionary spells names so
    readings: list[_PlReading] = []
    for _start, _end, (_orth, lemma, tag, kinds, _labels) in _morfeusz().analyse(capitalised):
        parts = tag.split(":")
        if parts[0] != "subst" or len(parts) < 4 or parts[1] != "sg":
            continue
        gender = "f" if parts[3] == "f" else "m" if parts[3].startswith("m") else ""
        for kind in ("imię", "nazwisko"):
            if kind in kinds and gender:
                reading = _PlReading(lemma.split(":", 1)[0], kind, parts[2], gender)
                if reading not in readings:
                    readings.append(reading)
    return tuple(readings)


def _pl_first_readings(word: str) -> list[_PlReading]:
    """First-name readings whose nominative is one of our first names (not a rare SGJP one)."""
    books = _dictionaries()
    return [
        r for r in _pl_readings(word) if r.kind == "imię" and fold_word(r.lemma) in books.first
    ]


@lru_cache(maxsize=8192)
def _pl_declined_first(word: str) -> bool:
    """`Anny`, `Piotrem`, `Tomaszowi`: a declined form of one of our first names."""
    if is_cyrillic(word) or len(word) < 3 or fold_word(word) in _dictionaries().first:
        return False
    return bool(_pl_first_readings(word))


def polish_nominative(words: Sequence[str], case: str | None = None) -> list[str]:
    """`["Anny", "Nowak"]` → `["Anna", "Nowak"]`, `["Jana", "Kowalskiego"]` → Jan Kowalski.

    The first word that is a first name decides the case and gender; the other words must fit
    the same ones (Jana Kowalska is Jana, Jana Kowalskiego is Jan). `case` is what a
    preposition before the name asks for (`od Jana`: the genitive), preferred to the
    nominative; without one, a form that is also a nominative stays as typed.
    """
    if not words or any(is_cyrillic(w) for w in words):
        return list(words)
    anchors: list[_PlReading] = []
    for word in words:
        anchors = _pl_first_readings(word)
        if fold_word(word) in _dictionaries().first:
            # Listed as typed (Jana, Ola): a nominative, if the other words agree.
            anchors += [_PlReading(word, "imię", "nom", g) for g in ("f", "m")]
        if anchors:
            break
    if not anchors:
        return list(words)
    preferred = (case, "nom") if case else ("nom",)
    anchors.sort(key=lambda r: preferred.index(r.case) if r.case in preferred else len(preferred))
    for anchor in anchors:
        if anchor.case in ("nom", "voc"):
            if all(_fits(w, "nom", anchor.gender) is not None for w in words):
                return list(words)
            continue
        reading = [_fits(w, anchor.case, anchor.gender) for w in words]
        if all(r is not None for r in reading):
            return [_like(w, r) for w, r in zip(words, reading, strict=True) if r is not None]
    return list(words)


def _fits(word: str, case: str, gender: str) -> str | None:
    """The nominative of `word` read in this case and gender, or None if it cannot be so."""
    readings = [r for r in _pl_readings(word) if r.case == case and r.gender == gender]
    first = [
        r for r in readings if r.kind == "imię" and fold_word(r.lemma) in _dictionaries().first
    ]
    if first or readings:
        return (first or readings)[0].lemma
    if _pl_readings(word):
        return None  # a known name, but not in this case or gender
    if case == "nom":
        return word
    lowered = word.lower()
    for ending, nominative in _PL_SURNAME_FALLBACK.get((case, gender), ()):
        if lowered.endswith(ending) and len(lowered) - len(ending) >= 3:
            return word[: len(word) - len(ending)] + nominative
    if gender == "f":
        return word  # Nowak, Wójcik: a woman's surname not ending in -a is not declined
    return None


# --- whole names ------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def name_readings(name: str) -> tuple[tuple[str, ...], ...]:
    """The folded words of a name, Russian ones in the nominative (every reading of a form
    that fits two people), salutations dropped."""
    words = [w.rstrip(".") for w in _WORD_RE.findall(name)]
    words = [w for w in words if fold_word(w) not in _HONORIFICS]
    return tuple(tuple(fold_word(w) for w in reading if w) for reading in russian_readings(words))


def name_tokens(name: str) -> tuple[str, ...]:
    return name_readings(name)[0]


def search_key(name: str) -> str:
    """Extra text stored with a name so candidates are found whatever its spelling."""
    return " ".join(dict.fromkeys(t for reading in name_readings(name) for t in reading))


def _known_surname(token: str) -> bool:
    if is_cyrillic(token):
        return analyse(token).known_surname
    return token in _dictionaries().surnames


def _surname_lemma(token: str) -> str | None:
    if not is_cyrillic(token):
        return token if token in _dictionaries().surnames else None
    for p in _ru_parses(token):
        if "Surn" in p.tag:
            return str(p.normal_form).replace("ё", "е")
    return None


def _is_first(token: str) -> bool:
    """A first name of the lists (not every rare name pymorphy3 knows: `Арем` may be a typo)."""
    return bool(first_name_groups(token))


@lru_cache(maxsize=16384)
def _token_match(a: str, b: str) -> int | None:
    """0: the same word (or a variant of the same first name); 1: a typo or an initial; None."""
    if a == b:
        return 0
    groups_a, groups_b = first_name_groups(a), first_name_groups(b)
    if groups_a & groups_b:
        return 0
    if len(a) == 1 or len(b) == 1:
        short, long_ = (a, b) if len(a) == 1 else (b, a)
        return 1 if len(long_) > 1 and long_.startswith(short) else None
    if _is_first(a) and _is_first(b):
        return None  # Maria and Marta, Jan and Jana: two names, not a typo
    if _known_surname(a) and _known_surname(b) and _surname_lemma(a) != _surname_lemma(b):
        return None  # Kotow and Krotow
    if min(len(a), len(b)) < 3 or OSA.distance(a, b, score_cutoff=1) > 1:
        return None
    if max(len(a), len(b)) >= 4:
        return 1  # `Kowalsky`, `Soa` for `Sowa`, `Adm` for `Adam`
    # Three letters each: only two swapped letters (`Jna` for `Jan`), never another letter.
    return 1 if sorted(a) == sorted(b) else None


def same_person(a: str, b: str) -> bool:
    """Whether two written names are very likely one person (see the module docstring)."""
    return any(_same_tokens(x, y) for x in name_readings(a) for y in name_readings(b))


def _two_pairs(a: str, b: str, c: str, d: str) -> bool:
    first = _token_match(a, b)
    if first is None:
        return False
    second = _token_match(c, d)
    return second is not None and first + second <= 1


def _same_tokens(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    if not first or not second:
        return False
    if len(first) == 1 or len(second) == 1:
        return len(first) == len(second) == 1 and _token_match(first[0], second[0]) == 0
    short, long_ = (first, second) if len(first) <= len(second) else (second, first)
    if len(long_) - len(short) > 1 or len(long_) > 4:
        return False
    if len(short) == len(long_) == 2:  # the usual case, without the general search
        (a, b), (c, d) = short, long_
        return _two_pairs(a, c, b, d) or _two_pairs(a, d, b, c)
    for chosen in itertools.permutations(long_, len(short)):
        fuzzy = 0
        for x, y in zip(short, chosen, strict=True):
            score = _token_match(x, y)
            if score is None:
                break
            fuzzy += score
            if fuzzy > 1:
                break
        else:
            return True
    return False


def candidate_needles(name: str) -> list[str]:
    """Substrings a stored name very similar to `name` contains at least one of.

    For each word of 3+ letters: its first and last three letters, as typed (casefolded) and
    folded. One typo cannot touch both ends of a word of 6+ letters, and the other words of the
    name are needles too, so a real variant is never missed; the candidates holding most
    needles come first.
    """
    needles: list[str] = []
    typed = [w.rstrip(".").casefold() for w in _WORD_RE.findall(name)]
    for word in [*typed, *(t for reading in name_readings(name) for t in reading)]:
        if len(word) < 3 or fold_word(word) in _HONORIFICS:
            continue
        needles.extend((word[:3], word[-3:]))
    return list(dict.fromkeys(needles))


# --- companies --------------------------------------------------------------------------------
_LEGAL_FORM_WORDS = frozenset(
    {"sp", "z", "o", "oo", "sa", "s", "a", "j", "k", "llc", "ltd", "inc", "gmbh", "ag", "plc",
     "corp", "ооо", "оао", "зао", "пао", "ао", "ип", "тоо"}
)  # fmt: skip
COMPANY_SIMILARITY = 90  # rapidfuzz token_sort_ratio of the folded names, legal forms aside


def _company_key(title: str) -> str:
    words = [fold_word(w) for w in re.findall(r"[^\W_]+", title)]
    kept = [w for w in words if w not in _LEGAL_FORM_WORDS]
    return " ".join(kept or words)


def same_company(a: str, b: str) -> bool:
    key_a, key_b = _company_key(a), _company_key(b)
    return bool(key_a and key_b) and fuzz.token_sort_ratio(key_a, key_b) >= COMPANY_SIMILARITY
