"""Pure pieces of the specialists domain: completeness, fees, filters, paging, photo re-encoding."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from marketplace.demo import content
from marketplace.pagination import Page, parse_page
from marketplace.specialists.demo import bio_html
from marketplace.specialists.directory import DirectoryFilters
from marketplace.specialists.models import Format, Language, SpecialistProfile, Specialty
from marketplace.specialists.photos import PhotoError, reencode_photo
from marketplace.specialists.services import ProfileError, fee_to_minor_units, missing_profile_fields
from marketplace.specialists.vocabulary import countries
from marketplace.text import render_markdown

MB = 1024 * 1024


def complete_profile(**overrides: object) -> SpecialistProfile:
    profile = SpecialistProfile(
        display_name="Ada", title="Psychotherapist", bio_markdown="Hello", timezone="Europe/Berlin",
        fee_minor=9000, currency="EUR", licence_type="Licence", licence_number="L-1",
        licence_jurisdiction="Berlin", video_link="https://meet.example.org/ada", address=None,
    )
    profile.specialties = [Specialty(slug="anxiety", label="Anxiety")]
    profile.languages = [Language(slug="en", label="English")]
    profile.formats = [Format(slug="video", label="Video")]
    for name, value in overrides.items():
        setattr(profile, name, value)
    return profile


def test_complete_profile_has_nothing_missing() -> None:
    assert missing_profile_fields(complete_profile()) == []


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"title": "  "}, "a professional title"),
    ({"bio_markdown": ""}, "a bio"),
    ({"specialties": []}, "at least one specialty"),
    ({"languages": []}, "at least one language"),
    ({"formats": []}, "at least one session format"),
    ({"timezone": "Mars/Base"}, "your time zone"),
    ({"fee_minor": None}, "your session fee and currency"),
    ({"licence_number": ""}, "your licence type, number and jurisdiction"),
    ({"video_link": None}, "a video meeting link (you offer video sessions)"),
    ({"formats": [Format(slug="in_person", label="In person")]},
     "your practice address (you offer in-person sessions)"),
])
def test_each_missing_piece_is_named(overrides: dict, expected: str) -> None:
    assert missing_profile_fields(complete_profile(**overrides)) == [expected]


def test_fee_conversions() -> None:
    assert fee_to_minor_units(Decimal("95.5"), "EUR") == 9550
    assert fee_to_minor_units(Decimal("12000"), "JPY") == 12000
    assert fee_to_minor_units(None, "EUR") is None
    with pytest.raises(ProfileError):
        fee_to_minor_units(Decimal("10.005"), "EUR")
    with pytest.raises(ProfileError):
        fee_to_minor_units(Decimal("1.5"), "JPY")
    with pytest.raises(ProfileError, match="as a number"):
        fee_to_minor_units(Decimal("NaN"), "EUR")


def test_countries_come_from_tzdata() -> None:
    table = dict(countries())
    assert table["DE"] == "Germany" and table["JP"] == "Japan" and len(table) > 240


def test_directory_filters_round_trip_to_query_params() -> None:
    filters = DirectoryFilters.from_values({"specialty": "anxiety", "free": True, "fee_max": 120, "city": " Berlin ",
                                            "q": "", "page": 3, "unknown": "x"})
    assert filters.city == "Berlin" and filters.active
    assert filters.query_params() == {"specialty": "anxiety", "city": "Berlin", "fee_max": 120, "free": 1}
    assert not DirectoryFilters().active and DirectoryFilters().query_params() == {}


@pytest.mark.parametrize(("page", "total", "expected"), [
    (1, 20, [1]),
    (1, 200, [1, 2, 3, None, 10]),
    (5, 200, [1, 2, 3, 4, 5, 6, 7, None, 10]),
    (10, 200, [1, None, 8, 9, 10]),
])
def test_page_window(page: int, total: int, expected: list) -> None:
    result = Page(items=[object()], page=page, per_page=20, total=total)
    assert result.window() == expected
    assert result.has_prev == (page > 1) and result.has_next == (page < result.pages)


@pytest.mark.parametrize(("raw", "expected"), [(None, 1), ("abc", 1), ("-4", 1), ("3", 3), ("99999999", 10_000)])
def test_parse_page(raw: object, expected: int) -> None:
    assert parse_page(raw) == expected


def _image_bytes(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 90) if mode == "RGB" else (10, 200, 90, 0)).save(out, fmt, **save)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_images_are_reencoded_as_small_jpeg(fmt: str) -> None:
    data = reencode_photo(io.BytesIO(_image_bytes(fmt, (2048, 1024))), 5 * MB)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (1024, 512)


def test_transparent_areas_become_white() -> None:
    data = reencode_photo(io.BytesIO(_image_bytes("PNG", (20, 20), mode="RGBA")), 5 * MB)
    r, g, b = Image.open(io.BytesIO(data)).getpixel((10, 10))
    assert min(r, g, b) > 240


@pytest.mark.parametrize("payload", [
    b"",
    b"GIF89a but not really an image",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # PNG signature, broken body
    b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    b"%PDF-1.4 not a photo",
])
def test_non_images_are_refused(payload: bytes) -> None:
    with pytest.raises(PhotoError):
        reencode_photo(io.BytesIO(payload), 5 * MB)


def test_size_limit_counts_bytes_not_claims() -> None:
    data = _image_bytes("BMP", (600, 600))  # ~1 MB, and BMP is not an accepted format anyway
    with pytest.raises(PhotoError, match="larger than 100 KB"):
        reencode_photo(io.BytesIO(data), 100 * 1024)
    with pytest.raises(PhotoError, match="not an image we can use"):
        reencode_photo(io.BytesIO(data), 5 * MB)


def test_bulk_bio_fast_path_matches_the_sanitiser() -> None:
    specs = [*content.SPECIALISTS, *content.generate_specialists(1500, seed=11)]
    for spec in specs:
        assert bio_html(spec["bio_markdown"]) == str(render_markdown(spec["bio_markdown"])), spec["slug"]
    for text in ["1. a list", "- a list", "<script>x</script>", "[x](javascript:alert(1))", "a **b** c"]:
        assert bio_html(text) == str(render_markdown(text))
