"""What the directory's text search compares: one normalisation for profiles and queries.

A profile's ``search_text`` is its name, title, city, country, the labels of its specialties,
approaches and languages, and its bio, folded by ``fold`` (lower case, accents removed,
punctuation as spaces): "Sofía" and "sofia" are the same word on SQLite and PostgreSQL alike.
``profile_search_text`` is the one function that composes it; the ORM keeps it up to date on
every flush of a changed profile (``models``), the bulk loader calls it for the rows it inserts.

A query is folded the same way and read as terms (``parse_query``): a word or phrase of the
synonym table (``synonyms``) names a specialty; every other word is plain text. Database-free:
``directory`` turns terms into SQL.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from marketplace.specialists.synonyms import SPECIALTY_SYNONYMS
from marketplace.specialists.vocabulary import SPECIALTIES, country_names

MAX_QUERY_CHARS = 200  # the form allows 100; anything longer is cut, never refused
MAX_TERMS = 8
MAX_PHRASE_WORDS = 3
# Words that say nothing about whom someone looks for ("help with anxiety", "couples therapy"):
# dropped from a query unless it has nothing else.
STOPWORDS = frozenset({
    "a", "an", "and", "or", "the", "with", "for", "of", "in", "on", "at", "to", "my", "me", "i", "im", "am",
    "is", "are", "be", "about", "near", "who", "someone", "help", "therapy", "therapist", "therapists",
    "counselling", "counseling", "counsellor", "counselor", "issue", "issues", "problem", "problems",
})

# Letters NFKD does not decompose into a base letter and a mark.
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"})
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str | None) -> str:
    """Lower case, accents removed, every run of punctuation or space one space: "Sofía
    Delgado-Ruiz" -> "sofia delgado ruiz". The same for stored text and queries."""
    if not text:
        return ""
    bare = text.lower()
    if not bare.isascii():  # (the fast path: most text is)
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
        bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", bare).strip()


def profile_search_text(*, display_name: str | None, title: str | None, city: str | None, country: str | None,
                        bio: str | None, specialties: Iterable[str] = (), approaches: Iterable[str] = (),
                        languages: Iterable[str] = ()) -> str:
    """A profile's ``search_text``: its searchable parts (vocabularies as their labels), folded."""
    country_name = country_names().get(country or "", "") if country else ""
    parts = [display_name, title, city, country_name, *specialties, *approaches, *languages, bio]
    return fold(" ".join(part for part in parts if part))


@dataclass(frozen=True)
class SearchTerm:
    """One folded word or phrase of a query; ``specialties``: the slugs it names (synonym table)."""

    text: str
    specialties: tuple[str, ...] = ()


@cache
def synonym_index() -> dict[str, tuple[str, ...]]:
    """Folded word or phrase -> the specialty slugs it names: the synonym table plus each
    specialty's own slug and label ("trauma & PTSD" -> "trauma ptsd")."""
    index: dict[str, list[str]] = {}
    for slug, label in SPECIALTIES:
        for phrase in (slug, label, *SPECIALTY_SYNONYMS.get(slug, ())):
            slugs = index.setdefault(fold(phrase), [])
            if slug not in slugs:
                slugs.append(slug)
    return {phrase: tuple(slugs) for phrase, slugs in index.items() if phrase}


@cache
def specialty_text(slug: str) -> str:
    """The folded label of a specialty as ``search_text`` holds it (labels are seeded from
    ``vocabulary.SPECIALTIES``)."""
    return fold(dict(SPECIALTIES).get(slug, slug))


def parse_query(q: str | None) -> list[SearchTerm]:
    """The terms of a query, each of which a profile must match (at most ``MAX_TERMS``).

    Phrases of the synonym table win over their words ("low mood", "panic attacks"); stop words
    go unless nothing else is left. Punctuation-only or empty input gives no terms.
    """
    words = fold((q or "")[:MAX_QUERY_CHARS]).split()
    index = synonym_index()
    terms: list[SearchTerm] = []
    position = 0
    while position < len(words):
        for length in range(min(MAX_PHRASE_WORDS, len(words) - position), 0, -1):
            phrase = " ".join(words[position:position + length])
            if length == 1 or phrase in index:
                terms.append(SearchTerm(phrase, index.get(phrase, ())))
                position += length
                break
    meaningful = [term for term in terms if term.specialties or term.text not in STOPWORDS]
    unique = list(dict.fromkeys(meaningful or terms))
    return unique[:MAX_TERMS]


def named_specialties(terms: Iterable[SearchTerm]) -> tuple[str, ...]:
    """Every specialty slug the terms name, in order, once."""
    return tuple(dict.fromkeys(slug for term in terms for slug in term.specialties))
