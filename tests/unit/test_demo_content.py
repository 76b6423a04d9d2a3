"""Consistency checks for the demo content module (pure data, no app needed)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import time

import pytest

from marketplace import money
from marketplace.demo.content import (
    APPROACHES,
    ARTICLES,
    CITIES,
    CURRENCIES,
    CURRENCY_BY_COUNTRY,
    FORMATS,
    LANGUAGES,
    QUESTIONS,
    SPECIALIST_KEYS,
    SPECIALISTS,
    SPECIALTIES,
    TOPICS,
    generate_specialists,
    slugify,
)

SPECIALTY_SLUGS = {slug for slug, _ in SPECIALTIES}
APPROACH_SLUGS = {slug for slug, _ in APPROACHES}
LANGUAGE_CODES = {slug for slug, _ in LANGUAGES}
FORMAT_SLUGS = {slug for slug, _ in FORMATS}
TOPIC_SLUGS = {slug for slug, _ in TOPICS}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _parse_hhmm(value: str) -> time:
    assert HHMM_RE.match(value), value
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def check_specialist(spec: dict) -> None:
    """Everything a seeded profile relies on; shared by hand-written and generated data."""
    name = spec["display_name"]
    assert tuple(spec) == SPECIALIST_KEYS, name
    assert SLUG_RE.match(spec["slug"]) and len(spec["slug"]) <= 80, name
    assert 0 < len(name) <= 80

    assert 2 <= len(spec["specialties"]) <= 4, name
    assert set(spec["specialties"]) <= SPECIALTY_SLUGS, name
    assert 1 <= len(spec["approaches"]) <= 3, name
    assert set(spec["approaches"]) <= APPROACH_SLUGS, name
    assert 1 <= len(spec["languages"]) <= 3, name
    assert set(spec["languages"]) <= LANGUAGE_CODES, name
    assert spec["formats"] and set(spec["formats"]) <= FORMAT_SLUGS, name
    for key in ("specialties", "approaches", "languages", "formats"):
        assert len(set(spec[key])) == len(spec[key]), (name, key)

    city = CITIES[spec["city_index"]]
    assert (spec["city"], spec["country"], spec["country_name"], spec["timezone"]) == tuple(city)
    assert spec["currency"] == CURRENCY_BY_COUNTRY[spec["country"]], name
    assert spec["currency"] in CURRENCIES
    assert isinstance(spec["fee_minor"], int) and spec["fee_minor"] > 0, name
    assert isinstance(spec["years_of_practice"], int) and spec["years_of_practice"] >= 0

    for key in ("title", "licence_type", "licence_number", "licence_jurisdiction"):
        assert spec[key], (name, key)
    assert len(spec["licence_number"]) <= 60

    for flag in ("offers_free_consultation", "verified", "accepting_new_clients"):
        assert isinstance(spec[flag], bool), (name, flag)

    if "video" in spec["formats"]:
        assert spec["video_link"] == f"https://meet.example.org/{spec['slug']}"
    else:
        assert spec["video_link"] is None, name
    if "in_person" in spec["formats"]:
        assert spec["address"], name
    else:
        assert spec["address"] is None, name

    assert spec["bio_markdown"].strip(), name
    check_weekly_hours(spec["weekly_hours"], name)


def check_weekly_hours(weekly_hours: list, name: str) -> None:
    assert weekly_hours, name
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in weekly_hours:
        assert weekday in range(7), name
        start_t, end_t = _parse_hhmm(start), _parse_hhmm(end)
        assert end_t > start_t, (name, weekday, start, end)
        by_day.setdefault(weekday, []).append((start_t, end_t))
    for windows in by_day.values():
        windows.sort()
        for (_, prev_end), (next_start, _) in zip(windows, windows[1:]):
            assert next_start >= prev_end, f"overlapping hours for {name}"


# --- vocabularies and cities ---------------------------------------------------------------


def test_vocabulary_slugs_are_unique_and_fixed() -> None:
    for vocab in (SPECIALTIES, APPROACHES, LANGUAGES, FORMATS):
        slugs = [slug for slug, _ in vocab]
        assert len(slugs) == len(set(slugs))
        assert all(label for _, label in vocab)
    assert len(SPECIALTIES) == 14 and len(APPROACHES) == 10
    assert len(LANGUAGES) == 12 and [s for s, _ in FORMATS] == ["video", "phone", "in_person"]
    assert TOPIC_SLUGS == SPECIALTY_SLUGS


def test_cities_have_valid_timezones_and_known_currencies() -> None:
    assert 20 <= len(CITIES) <= 30
    available = zoneinfo.available_timezones()
    for city in CITIES:
        assert city.timezone in available, city
        zoneinfo.ZoneInfo(city.timezone)
        assert re.fullmatch(r"[A-Z]{2}", city.country_code), city
        assert CURRENCY_BY_COUNTRY[city.country_code] in CURRENCIES
    assert len({(c.city, c.country_code) for c in CITIES}) == len(CITIES)
    assert set(CURRENCIES) <= set(money.CURRENCIES)  # the demo bills only in currencies the money rule knows


# --- hand-written specialists --------------------------------------------------------------


def test_hand_written_specialists_are_consistent() -> None:
    assert len(SPECIALISTS) == 24
    for spec in SPECIALISTS:
        check_specialist(spec)
    slugs = [s["slug"] for s in SPECIALISTS]
    assert len(slugs) == len(set(slugs))
    assert len({s["display_name"] for s in SPECIALISTS}) == 24
    assert len({s["bio_markdown"] for s in SPECIALISTS}) == 24


def test_hand_written_mix_is_realistic() -> None:
    assert 18 <= sum(s["offers_free_consultation"] for s in SPECIALISTS) <= 22
    assert sum(s["verified"] for s in SPECIALISTS) == 22  # listed; one pending, one rejected
    assert sum(s["accepting_new_clients"] for s in SPECIALISTS) >= 20
    assert sum("en" in s["languages"] for s in SPECIALISTS) >= 20
    assert len({s["currency"] for s in SPECIALISTS}) == len(CURRENCIES)
    for spec in SPECIALISTS:
        bio = spec["bio_markdown"]
        assert "**" in bio or "\n- " in bio, spec["display_name"]
        if spec["offers_free_consultation"]:
            assert "free 30-minute" in bio, spec["display_name"]


# --- questions and answers -----------------------------------------------------------------


def test_questions_have_valid_topics_and_answers() -> None:
    assert len(QUESTIONS) == 6
    assert len({q["title"] for q in QUESTIONS}) == len(QUESTIONS)
    for question in QUESTIONS:
        assert question["topic"] in TOPIC_SLUGS
        assert isinstance(question["anonymous"], bool)
        assert question["body"].strip() and question["title"].strip()
        if not question["anonymous"]:
            assert question["asked_by"]
        assert 1 <= len(question["answers"]) <= 2
        answerers = [a["specialist_index"] for a in question["answers"]]
        assert len(answerers) == len(set(answerers))
        for answer in question["answers"]:
            index = answer["specialist_index"]
            assert isinstance(index, int) and 0 <= index < len(SPECIALISTS)
            assert answer["body"].strip()


def test_the_verification_queue_is_not_empty_one_pending_one_rejected() -> None:
    from marketplace.demo.content import REJECTED_LICENCES

    unverified = {s["slug"] for s in SPECIALISTS if not s["verified"]}
    assert len(unverified) == 2 and len(REJECTED_LICENCES) == 1 and set(REJECTED_LICENCES) < unverified
    assert all(reason.strip() for reason in REJECTED_LICENCES.values())


def test_answering_specialists_are_verified() -> None:
    for question in QUESTIONS:
        for answer in question["answers"]:
            spec = SPECIALISTS[answer["specialist_index"]]
            assert spec["verified"], spec["display_name"]


# --- articles ------------------------------------------------------------------------------


def test_articles_are_well_formed() -> None:
    assert len(ARTICLES) == 4
    slugs = [a["slug"] for a in ARTICLES]
    assert len(slugs) == len(set(slugs))
    for article in ARTICLES:
        assert SLUG_RE.match(article["slug"])
        assert article["slug"] == slugify(article["title"])
        assert article["summary"].strip() and "\n" not in article["summary"]
        body = article["body_markdown"]
        assert 400 <= len(body.split()) <= 700, article["slug"]
        assert "\n## " in body
        assert re.search(r"^(- |\d+\. )", body, re.MULTILINE)
        author = article["author"]
        if author != "admin":
            assert isinstance(author, int) and 0 <= author < len(SPECIALISTS)
            assert SPECIALISTS[author]["verified"]


# --- slugify -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello World", "hello-world"),
        ("Sofía Delgado Ruiz", "sofia-delgado-ruiz"),
        ("Łucja Wójcik", "lucja-wojcik"),
        ("Mehmet Yıldız", "mehmet-yildiz"),
        ("Siobhán O'Brien", "siobhan-obrien"),
        ("  Straße -- 12!  ", "strasse-12"),
        ("Kraków", "krakow"),
        ("???", ""),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


# --- generator -----------------------------------------------------------------------------


def test_generator_is_deterministic_and_unique() -> None:
    first = list(generate_specialists(300, seed=7))
    second = list(generate_specialists(300, seed=7))
    assert first == second
    assert len(first) == 300
    assert len({s["slug"] for s in first}) == 300
    other_seed = list(generate_specialists(300, seed=8))
    assert first != other_seed
    assert list(generate_specialists(0)) == []


def test_generated_specialists_are_consistent() -> None:
    hand_written = {s["slug"] for s in SPECIALISTS}
    for spec in generate_specialists(500, seed=123):
        check_specialist(spec)
        assert re.fullmatch(r"[a-z0-9-]+-\d+", spec["slug"])
        assert spec["slug"] not in hand_written


def test_generator_handles_ten_thousand() -> None:
    specs = list(generate_specialists(10_000))
    assert len(specs) == 10_000
    assert len({s["slug"] for s in specs}) == 10_000
    # Varied enough for filters and text search to be meaningful.
    assert {c for s in specs for c in s["specialties"]} == SPECIALTY_SLUGS
    assert {s["city_index"] for s in specs} == set(range(len(CITIES)))
    assert len({s["bio_markdown"] for s in specs}) > 9_000
    assert 0.75 < sum(s["offers_free_consultation"] for s in specs) / 10_000 < 0.95
    # Each dict owns its lists, so mutating one never leaks into another.
    specs[0]["weekly_hours"].append((6, "10:00", "11:00"))
    specs[0]["specialties"].append("x")
    assert all(len(s["weekly_hours"]) < 20 for s in specs[1:])
