"""The directory's text search, at the service and over HTTP, on both backends: problem words
(synonyms), specialties, approaches, languages, place, name, title and bio, accents folded both
ways, specialty matches ranked first (featured and directory order as tie-breakers), paging, odd
input, and the search text kept in step with every save path."""
from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select, text

from marketplace.cache import version
from marketplace.database import utcnow
from marketplace.demo import content
from marketplace.demo.registry import DemoContext
from marketplace.extensions import db
from marketplace.specialists.demo import seed_specialists
from marketplace.specialists.directory import DirectoryFilters, search_directory
from marketplace.specialists.hooks import directory_hooks
from marketplace.specialists.models import SpecialistProfile, Specialty
from marketplace.specialists.services import erase_specialist_profile

CARD_SLUG = re.compile(r'class="specialist-card-name"><a href="/specialists/([^"?]+)')


def slugs_on(response) -> list[str]:
    assert response.status_code == 200
    return CARD_SLUG.findall(response.get_data(as_text=True))


def search_ids(q: str, **filters) -> list[int]:
    """Every page of the search, in order (checks that pages neither repeat nor skip)."""
    first = search_directory(DirectoryFilters(q=q, **filters), 1)
    ids = [card.id for card in first.items]
    pages = max(1, -(-first.total // first.per_page))
    for number in range(2, pages + 1):
        ids += [card.id for card in search_directory(DirectoryFilters(q=q, **filters), number).items]
    assert len(ids) == len(set(ids)) == first.total
    return ids


def http_slugs(client, query: str) -> list[str]:
    """Every page of ``/specialists?<query>``, in order."""
    found: list[str] = []
    for number in range(1, 20):
        page = slugs_on(client.get(f"/specialists?{query}&page={number}"))
        if not page or (found and page[-1] in found):  # past the last page (clamped to it)
            break
        found += page
    return found


def ascii_lower(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()


# --- the demo data --------------------------------------------------------------------------------

# The query word -> the specialty whose listers it must find (the examples).
DEMO_TOPICS = {"eating": "eating", "grief": "grief", "depression": "depression", "trauma": "trauma",
               "couples": "relationships"}


@pytest.fixture
def demo(app):
    """The hand-written demo specialists (ORM path) and 30 generated ones (bulk Core path)."""
    seed_specialists(DemoContext(extra={"bulk": 30}))
    db.session.commit()
    return list(db.session.scalars(select(SpecialistProfile).where(SpecialistProfile.is_listed)))


def listing(profiles, slug: str) -> set[int]:
    return {p.id for p in profiles if slug in {s.slug for s in p.specialties}}


@pytest.mark.parametrize("word", list(DEMO_TOPICS))
def test_demo_topic_finds_every_listed_specialist_who_lists_it_first(client, demo, word):
    expected = listing(demo, DEMO_TOPICS[word])
    assert expected  # the demo data has some
    hand_written = {p.id for p in demo if p.slug in {s["slug"] for s in content.SPECIALISTS}}
    assert expected & hand_written

    ids = search_ids(word)
    assert expected <= set(ids)
    # Specialty matches first: every lister before every profile that only mentions the word.
    assert ids[:len(expected)] == [i for i in ids if i in expected]

    by_id = {p.id: p.slug for p in demo}
    assert http_slugs(client, f"q={word}") == [by_id[i] for i in ids]


def test_demo_sofia_both_ways(client, demo):
    expected = {p.slug for p in demo if "sofia" in ascii_lower(p.display_name)}
    assert "sofia-delgado-ruiz" in expected  # "Sofía Delgado Ruiz"
    for query in ("sofia", "Sof%C3%ADa", "SOFIA", "sof%C3%AD"):
        assert set(http_slugs(client, f"q={query}")) >= expected, query
    assert {p.slug for p in demo if p.id in search_ids("Sofía")} >= expected


def test_demo_specialty_matches_rank_before_bio_only_matches(demo):
    """A bio that mentions grief without listing it comes after every profile listing grief."""
    listers = listing(demo, "grief")
    mentions = {p.id for p in demo if "grief" in (p.bio_markdown or "").lower()} - listers
    ids = search_ids("grief")
    if mentions:
        assert max(ids.index(i) for i in listers) < min(ids.index(i) for i in mentions)
    assert set(ids) == listers | {p.id for p in demo if "grief" in p.search_text}


# --- words, places, languages, accents --------------------------------------------------------------

@pytest.fixture
def people(make_specialist):
    now = utcnow()
    return {
        "sofia": make_specialist(display_name="Sofía Álvarez", specialties=["relationships"], languages=["es"],
                                 city="Kraków", country="PL", bio_markdown="Couples and families.",
                                 next_available_at=now + timedelta(days=1)),
        "sofia2": make_specialist(display_name="Sofia Brandt", specialties=["anxiety"], languages=["de"],
                                  city="Łódź", country="PL", approaches=["emdr"],
                                  bio_markdown="Panic, worry and sleepless nights.",
                                  next_available_at=now + timedelta(days=2)),
        "noel": make_specialist(display_name="Noël Duarte", specialties=["depression"], languages=["fr"],
                                city="Zürich", country="CH", title="Psychothérapeute",
                                bio_markdown="Low mood, grief after a loss, burnout.",
                                next_available_at=now + timedelta(days=3)),
        "ida": make_specialist(display_name="Ida Berg", specialties=["eating", "trauma"], languages=["en"],
                               city="Oslo", country="NO", bio_markdown="Anorexia, bulimia and PTSD.",
                               next_available_at=now + timedelta(days=4)),
    }


@pytest.mark.parametrize(("query", "expected"), [
    ("sofia", ["sofia", "sofia2"]),          # "Sofía" and "Sofia"
    ("Sofía", ["sofia", "sofia2"]),
    ("ALVAREZ", ["sofia"]),
    ("krakow", ["sofia"]),                   # city, accents folded
    ("Kraków", ["sofia"]),
    ("lodz", ["sofia2"]),                    # "Łódź": ł is not a decomposed letter
    ("zurich", ["noel"]),
    ("noel", ["noel"]),
    ("psychotherapeute", ["noel"]),          # title
    ("switzerland", ["noel"]),               # country name
    ("norway", ["ida"]),
    ("spanish", ["sofia"]),                  # language labels
    ("french", ["noel"]),
    ("emdr", ["sofia2"]),                    # approach label
    ("couples", ["sofia"]),                  # synonyms -> specialty
    ("marriage", ["sofia"]),
    ("panic", ["sofia2"]),
    ("sad", ["noel"]),
    ("low mood", ["noel"]),
    ("bulimia", ["ida"]),
    ("ptsd", ["ida"]),
    ("abuse", ["ida"]),                      # lists trauma, never says "abuse"
    ("insomnia", []),                        # nobody lists sleep or says insomnia ("sleepless" is not it)
    ("sleepless", ["sofia2"]),
    ("grief", ["noel"]),                     # bio only
    ("help with anxiety", ["sofia2"]),       # stop words dropped
    ("anxiety berlin", []),                  # every term must match
    ("french burnout", ["noel"]),
    ("eating disorders", ["ida"]),
])
def test_search_words(client, people, query, expected):
    ids = {profile.id: key for key, profile in people.items()}
    assert [ids[i] for i in search_ids(query)] == expected
    assert http_slugs(client, f"q={query}") == [people[key].slug for key in expected]


def test_specialty_matches_rank_first_then_featured_then_soonest(client, make_specialist, monkeypatch):
    now = utcnow()
    soon_lister = make_specialist(display_name="A Soon", specialties=["anxiety"], bio_markdown="Adults.",
                                  next_available_at=now + timedelta(days=1))
    featured_lister = make_specialist(display_name="B Featured", specialties=["anxiety"], bio_markdown="Adults.",
                                      next_available_at=now + timedelta(days=5))
    featured_mention = make_specialist(display_name="C Mention", specialties=["grief"],
                                       bio_markdown="Grief, and the anxiety it brings.",
                                       next_available_at=now + timedelta(days=6))
    soonest_mention = make_specialist(display_name="D Panic", specialties=["depression"],
                                      bio_markdown="Panic after loss.", next_available_at=now + timedelta(hours=1))
    make_specialist(display_name="E Other", specialties=["adhd"], bio_markdown="Focus.")
    monkeypatch.setattr(directory_hooks, "order_sources", [lambda: [featured_mention.id, featured_lister.id]])
    monkeypatch.setattr(directory_hooks, "shown_listeners", [])
    from marketplace.cache import bump_version

    bump_version("featured", "directory")
    expected = [featured_lister, soon_lister, featured_mention]
    assert search_ids("anxiety") == [p.id for p in expected]
    assert slugs_on(client.get("/specialists?q=anxiety")) == [p.slug for p in expected]
    # "panic" names anxiety: its listers first, then the text matches (featured first, then soonest).
    expected = [featured_lister, soon_lister, featured_mention, soonest_mention]
    assert search_ids("panic") == [p.id for p in expected]
    assert slugs_on(client.get("/specialists?q=panic")) == [p.slug for p in expected]
    # Without a specialty word the directory order is unchanged: featured, then soonest.
    assert search_ids("adults") == [featured_lister.id, soon_lister.id]


def test_ranked_search_pages_neither_repeat_nor_skip(client, make_specialist):
    for n in range(23):
        make_specialist(display_name=f"Lister {n:02d}", specialties=["stress"], bio_markdown="Adults.")
    for n in range(4):
        make_specialist(display_name=f"Mentioner {n}", specialties=["adhd"], bio_markdown="Burnout at work.")
    ids = search_ids("burnout")
    assert len(ids) == 27
    lister_ids = set(db.session.scalars(select(SpecialistProfile.id).where(
        SpecialistProfile.display_name.like("Lister%"))))
    assert set(ids[:23]) == lister_ids
    first, second = slugs_on(client.get("/specialists?q=burnout")), slugs_on(client.get("/specialists?q=burnout&page=2"))
    assert len(first) == 20 and len(second) == 7 and not set(first) & set(second)
    html = client.get("/specialists?q=burnout").get_data(as_text=True)
    assert re.search(r'href="/specialists\?(?=[^"]*q=burnout)(?=[^"]*page=2)[^"]*"', html)


@pytest.mark.parametrize("query", [
    "%", "_", "%25", "%25%25_", "100%25", "\\", "'", "'; DROP TABLE specialist_profiles; --", "!!!", "...,,,",
    "%F0%9F%98%80", "a", "x" * 300, "anxiety " * 60, "%C3%A9", "ab%25cd_ef", "%E2%80%AEsofia", "so%E2%80%8Bfia",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "x" * 10_000,
])
def test_odd_input_gives_results_or_nothing_never_an_error(client, people, query):
    response = client.get(f"/specialists?q={query}")
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.get_data(as_text=True)
    assert search_directory(DirectoryFilters(q=unquote(query)), 1).total >= 0  # the service, without the form


def test_control_characters_are_refused_or_ignored_never_an_error(client, people):
    assert client.get("/specialists?q=sofia%00").status_code in (200, 400)
    assert search_ids("sofia\x00\x1b") == [people["sofia"].id, people["sofia2"].id]


def test_punctuation_only_is_no_search_and_wildcards_match_literally(app, people):
    assert search_directory(DirectoryFilters(q="%"), 1).total == len(people)
    assert search_directory(DirectoryFilters(q="?!"), 1).total == len(people)
    # Punctuation separates words ("%" and "_" never reach LIKE as wildcards).
    assert search_ids("%sofia%") == [people["sofia"].id, people["sofia2"].id]
    assert search_ids("sofia_brandt") == [people["sofia2"].id]


# --- the search text follows every change --------------------------------------------------------

def test_profile_changes_update_the_search_text_and_the_cached_page(client, people):
    ida = people["ida"]
    assert slugs_on(client.get("/specialists?q=insomnia")) == []
    before = version("directory")
    ida.specialties = [*ida.specialties, db.session.scalar(select(Specialty).where(Specialty.slug == "sleep"))]
    db.session.commit()
    assert version("directory") != before  # the same commit bumps the cached directory pages
    assert "sleep problems" in ida.search_text
    assert slugs_on(client.get("/specialists?q=insomnia")) == [ida.slug]

    ida.city = "Tromsø"
    ida.display_name = "Ida Bergström"
    db.session.commit()
    assert slugs_on(client.get("/specialists?q=tromso")) == [ida.slug]
    assert slugs_on(client.get("/specialists?q=bergstrom")) == [ida.slug]
    assert slugs_on(client.get("/specialists?q=oslo")) == []


def test_erased_profile_keeps_no_searchable_personal_text(app, people):
    noel = people["noel"]
    erase_specialist_profile(noel.user)
    db.session.commit()
    assert "noel" not in noel.search_text and "zurich" not in noel.search_text
    assert "low mood" not in noel.search_text


def editor_form(profile: SpecialistProfile, **overrides: object) -> dict:
    data: dict = {
        "display_name": profile.display_name, "title": "Psychologist", "bio_markdown": profile.bio_markdown,
        "years_of_practice": "8", "licence_type": profile.licence_type, "licence_number": profile.licence_number,
        "licence_jurisdiction": profile.licence_jurisdiction, "specialties": ["anxiety"], "approaches": ["cbt"],
        "languages": ["en"], "formats": ["video"], "city": profile.city, "country": profile.country,
        "timezone": "Europe/Berlin", "fee": "90", "currency": "EUR", "session_minutes": "50",
        "offers_free_consultation": "y", "accepting_new_clients": "y", "video_link": "https://meet.example.org/room",
        "address": "", "phone": "", "version": str(profile.version_id),
    }
    data.update(overrides)
    return data


def test_editor_save_updates_the_search_text(client, auth, people):
    """Through the editor (the profile service's save path) over HTTP, then found by the new words."""
    sofia = people["sofia2"]
    auth.login_as(sofia.user)
    assert slugs_on(client.get("/specialists?q=bereavement")) == []
    response = client.post("/specialists/me/edit", data=editor_form(
        sofia, bio_markdown="Warm work with **bereavement**.", specialties=["grief"], approaches=["emdr"],
        languages=["de", "it"]))
    assert response.status_code == 302
    db.session.expire_all()
    text_now = db.session.get(SpecialistProfile, sofia.id).search_text
    assert "bereavement" in text_now and "italian" in text_now and "grief loss" in text_now
    assert "panic" not in text_now and "anxiety" not in text_now
    assert slugs_on(client.get("/specialists?q=bereavement")) == [sofia.slug]
    assert slugs_on(client.get("/specialists?q=italian")) == [sofia.slug]
    assert people["sofia2"].slug not in slugs_on(client.get("/specialists?q=panic"))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # SQLite scans the folded column
def test_postgresql_answers_search_from_a_trigram_index(app):
    assert db.engine.dialect.name == "postgresql"
    names = set(db.session.scalars(text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'specialist_profiles' AND indexdef LIKE '%gin_trgm_ops%'")))
    assert names == {"ix_specialist_profiles_search_text"}


def test_refresh_command_rewrites_stale_search_text(app, people):
    """After a vocabulary label changed (the ORM sees only profile edits), one command catches up."""
    adhd = db.session.scalar(select(Specialty).where(Specialty.slug == "adhd"))
    people["ida"].specialties = [*people["ida"].specialties, adhd]
    db.session.commit()
    adhd.label = "ADHD & neurodivergence"
    db.session.execute(text("UPDATE specialist_profiles SET search_text = 'stale'"))
    db.session.commit()
    before = version("directory")
    result = app.test_cli_runner().invoke(args=["refresh-search-text"])
    assert result.exit_code == 0 and f"updated the search text of {len(people)} profile(s)" in result.output
    db.session.expire_all()
    assert "adhd neurodivergence" in db.session.get(SpecialistProfile, people["ida"].id).search_text
    assert version("directory") != before
    assert search_ids("neurodivergence") == [people["ida"].id]
