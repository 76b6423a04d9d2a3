"""Folding, the synonym table and query parsing of the directory search (no database)."""
from __future__ import annotations

import pytest

from marketplace.demo.content import generate_specialists
from marketplace.specialists.search import (
    MAX_TERMS,
    SearchTerm,
    fold,
    named_specialties,
    parse_query,
    profile_search_text,
    specialty_text,
    synonym_index,
)
from marketplace.specialists.synonyms import SPECIALTY_SYNONYMS
from marketplace.specialists.vocabulary import SPECIALTIES


@pytest.mark.parametrize(("raw", "folded"), [
    ("Sofía", "sofia"), ("SOFIA", "sofia"), ("Hélène Marchand", "helene marchand"), ("Siobhán", "siobhan"),
    ("Łódź", "lodz"), ("Kraków", "krakow"), ("Tromsø", "tromso"), ("Straße", "strasse"), ("Yıldız", "yildiz"),
    ("Noël", "noel"), ("Dubois-Tanaka", "dubois tanaka"), ("self-esteem", "self esteem"),
    ("Trauma & PTSD", "trauma ptsd"), ("LGBTQ+ issues", "lgbtq issues"), ("  100%_\\ x ", "100 x"),
    ("can't", "can t"), ("ｆｕｌｌ", "full"), ("", ""), (None, ""), ("%_", ""),
])
def test_fold(raw, folded):
    assert fold(raw) == folded


def test_fold_is_idempotent_and_both_directions_meet():
    for word in ("Sofía", "sofia", "SOFÍA", "Sofi\u0301a"):  # the last: a combining accent
        assert fold(word) == fold(fold(word)) == "sofia"


def test_synonym_table_names_only_known_specialties_and_covers_every_one():
    slugs = {slug for slug, _label in SPECIALTIES}
    assert set(SPECIALTY_SYNONYMS) == slugs
    for slug, words in SPECIALTY_SYNONYMS.items():
        assert words and all(fold(word) for word in words), slug


@pytest.mark.parametrize(("word", "slug"), [
    ("couples", "relationships"), ("couple", "relationships"), ("marriage", "relationships"),
    ("panic", "anxiety"), ("worry", "anxiety"), ("anxious", "anxiety"), ("Panic attacks", "anxiety"),
    ("sad", "depression"), ("low mood", "depression"), ("depressed", "depression"),
    ("burnout", "stress"), ("burn-out", "stress"), ("stress", "stress"),
    ("ptsd", "trauma"), ("PTSD", "trauma"), ("abuse", "trauma"),
    ("eating", "eating"), ("anorexia", "eating"), ("bulimia", "eating"), ("Eating disorders", "eating"),
    ("grief", "grief"), ("loss", "grief"), ("bereavement", "grief"),
    ("addiction", "addiction"), ("alcohol", "addiction"), ("ocd", "ocd"), ("adhd", "adhd"),
    ("sleep", "sleep"), ("insomnia", "sleep"), ("self-esteem", "self-esteem"), ("LGBTQ+", "lgbtq"),
])
def test_problem_words_name_their_specialty(word, slug):
    assert named_specialties(parse_query(word)) == (slug,)


def test_phrases_win_over_their_words_and_stop_words_go():
    assert parse_query("help with low mood and panic attacks") == [
        SearchTerm("low mood", ("depression",)), SearchTerm("panic attacks", ("anxiety",))]
    assert parse_query("couples therapy in Zürich") == [SearchTerm("couples", ("relationships",)),
                                                         SearchTerm("zurich")]
    assert parse_query("therapy") == [SearchTerm("therapy")]  # nothing else: kept
    assert parse_query("sofia sofia") == [SearchTerm("sofia")]


@pytest.mark.parametrize("q", ["", "   ", "%", "_", "%%__", "!?.,;:", "\\", None])
def test_nothing_to_search_gives_no_terms(q):
    assert parse_query(q) == []


def test_long_input_is_cut_not_refused():
    assert len(parse_query("anxiety depression grief trauma " * 100)) <= MAX_TERMS
    assert parse_query("x" * 10_000) == [SearchTerm("x" * 200)]


def test_specialty_text_is_the_folded_label():
    assert specialty_text("trauma") == "trauma ptsd" and specialty_text("eating") == "eating disorders"
    for slug, label in SPECIALTIES:
        assert synonym_index()[fold(label)][0] == slug


def test_profile_search_text_holds_every_searchable_part():
    text = profile_search_text(display_name="Sofía Delgado", title="Psicóloga", city="Málaga", country="ES",
                               bio="Parejas y **duelo**.", specialties=["Trauma & PTSD"], approaches=["EMDR"],
                               languages=["Spanish"])
    assert text == "sofia delgado psicologa malaga spain trauma ptsd emdr spanish parejas y duelo"
    assert profile_search_text(display_name="A", title=None, city=None, country=None, bio=None) == "a"


def test_generated_profiles_mention_their_specialties_in_words_the_search_knows():
    """The bulk generator's bios and labels fold to text holding each listed specialty's label."""
    for spec in generate_specialists(50, seed=5):
        labels = dict(SPECIALTIES)
        text = profile_search_text(display_name=spec["display_name"], title=spec["title"], city=spec["city"],
                                   country=spec["country"], bio=spec["bio_markdown"],
                                   specialties=[labels[s] for s in spec["specialties"]])
        assert all(specialty_text(slug) in text for slug in spec["specialties"])
