"""The booking page week by week, with time-of-day chips, over HTTP on SQLite and PostgreSQL
(issue 14): the first week is the soonest free time's, Previous/Next step a week and keep what was
chosen, bad ``?week=`` values fall back, an empty week offers the next one with times, the chips
filter on the server in the viewer's zone, a chosen time opens its week (also after logging in),
rescheduling pages the same way, and the booking POST is unchanged.

The specialist's calendar is in UTC, the client's zone Asia/Tokyo (UTC+9, no DST): every part of
the day below is the client's, not the specialist's.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from marketplace.auth.models import Role
from marketplace.consultations.availability import refresh_next_available
from marketplace.consultations.booking import format_slot
from marketplace.consultations.models import AvailabilityOverride, Consultation, OverrideKind
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.factories import PASSWORD
from tests.integration.test_consultations import book, book_via_http, login

TOKYO = ZoneInfo("Asia/Tokyo")


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


class Calendar:
    """Extra hours (UTC) on a Friday ≥ 8 days ahead (A) and its Saturday, and two weeks later
    (B, Friday) and that Sunday; nothing in the week between. In Tokyo:

    week of A: Fri 09:00–10:30 (morning), 15:00–16:30 (afternoon), 17:00–18:30 (evening);
               Sat 17:00, 17:30 (weekend evening)                       → 14 free times
    week of B: Fri 17:00–18:30 (evening); Sun 09:00, 09:30 (weekend morning) → 6 free times
    """

    def __init__(self, profile) -> None:  # type: ignore[no-untyped-def]
        today = utcnow().date()
        a = today + timedelta(days=8)
        while a.weekday() != 4:
            a += timedelta(days=1)
        self.a, self.b = a, a + timedelta(days=14)
        windows = [(a, "00:00", "02:00"), (a, "06:00", "10:00"), (a + timedelta(days=1), "08:00", "09:00"),
                   (self.b, "08:00", "10:00"), (self.b + timedelta(days=2), "00:00", "01:00")]
        for day, start, end in windows:
            db.session.add(AvailabilityOverride(specialist_id=profile.id, day=day, kind=OverrideKind.EXTRA,
                                                start_time=time.fromisoformat(start), end_time=time.fromisoformat(end)))
        db.session.flush()
        refresh_next_available([profile.id])
        db.session.commit()
        self.week_a, self.week_b = monday_of(a), monday_of(self.b)  # Tokyo dates = UTC dates here
        self.week_between = self.week_a + timedelta(days=7)

    def slot(self, day: date, hh_mm: str) -> datetime:
        """A free time by its Tokyo wall clock."""
        return datetime.combine(day, time.fromisoformat(hh_mm), TOKYO).astimezone(ZoneInfo("UTC"))


@pytest.fixture
def specialist(app, make_specialist):
    return make_specialist(formats=["video", "phone"], timezone="UTC")


@pytest.fixture
def calendar(specialist):
    return Calendar(specialist)


@pytest.fixture
def tokyo_user(app, make_user):
    return make_user(Role.CLIENT, timezone="Asia/Tokyo")


@pytest.fixture
def tokyo_client(client, tokyo_user):
    login(client, tokyo_user)
    return client


# --- reading the page ---------------------------------------------------------------------------

CHOICE = re.compile(r'<label class="slot-choice" for="[^"]+" data-kind="([a-z-]+)"( hidden)?>\s*'
                    r'<input type="radio" name="slot" id="[^"]+" value="([^"]+)"( checked)?>')


class Page:
    def __init__(self, response, status: int = 200) -> None:  # type: ignore[no-untyped-def]
        assert response.status_code == status, response.status_code
        self.html = response.get_data(as_text=True)

    @property
    def week(self) -> date:
        found = re.search(r'data-testid="week-label">\s*<span class="visually-hidden">Week of </span>'
                          r'<time datetime="([0-9-]+)">', self.html)
        assert found, "no week shown"
        return date.fromisoformat(found.group(1))

    @property
    def shown(self) -> list[str]:
        return [value for _, hidden, value, _ in CHOICE.findall(self.html) if not hidden]

    @property
    def hidden(self) -> list[str]:
        return [value for _, hidden, value, _ in CHOICE.findall(self.html) if hidden]

    @property
    def checked(self) -> list[str]:
        return re.findall(r'name="slot" id="[^"]+" value="([^"]+)" checked', self.html)

    def link(self, testid: str) -> str | None:
        found = re.search(r'<a href="([^"]+)"[^>]*data-testid="' + testid + '"', self.html)
        return found.group(1).replace("&amp;", "&") if found else None

    def query(self, testid: str) -> dict[str, list[str]]:
        link = self.link(testid)
        assert link is not None, f"no {testid} link"
        return parse_qs(urlsplit(link).query)

    def text(self, testid: str) -> str:
        found = re.search(r'data-testid="' + testid + r'"[^>]*>(.*?)</(?:p|div)>', self.html, re.S)
        assert found, testid
        return re.sub(r"<[^>]+>", "", found.group(1)).strip()

    def shows_empty_week(self) -> bool:
        return bool(re.search(r'data-testid="week-empty">', self.html))


def values(*slots: datetime) -> list[str]:
    return [format_slot(s) for s in slots]


def tokyo_times(calendar: Calendar, day: date, *clock: str) -> list[str]:
    return values(*(calendar.slot(day, c) for c in clock))


def week_a(calendar: Calendar, kind: str) -> list[str]:
    friday, saturday = calendar.a, calendar.a + timedelta(days=1)
    return {
        "morning": tokyo_times(calendar, friday, "09:00", "09:30", "10:00", "10:30"),
        "afternoon": tokyo_times(calendar, friday, "15:00", "15:30", "16:00", "16:30"),
        "evening": tokyo_times(calendar, friday, "17:00", "17:30", "18:00", "18:30"),
        "weekend": tokyo_times(calendar, saturday, "17:00", "17:30"),
    }[kind]


def book_url(profile, **params: str | list[str]) -> str:  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={v}" for k, vs in params.items() for v in ([vs] if isinstance(vs, str) else vs))
    return f"/specialists/{profile.slug}/book" + (f"?{query}" if query else "")


# --- week by week -------------------------------------------------------------------------------

def test_the_first_week_is_the_soonest_and_the_links_step_a_week(tokyo_client, specialist, calendar):
    first = Page(tokyo_client.get(book_url(specialist)))
    assert first.week == calendar.week_a  # not this week: nothing is free before A
    everything = week_a(calendar, "morning") + week_a(calendar, "afternoon") + week_a(calendar, "evening")
    assert sorted(first.shown) == sorted(everything + week_a(calendar, "weekend")) and first.hidden == []
    assert first.text("slot-count") == "14 free times"
    assert first.link("previous-week") is None
    assert first.query("next-week")["week"] == [calendar.week_between.isoformat()]
    assert "Time of day" in first.html and 'name="part" value="evening" form="slot-filter"' in first.html

    between = Page(tokyo_client.get(first.link("next-week")))
    assert between.week == calendar.week_between and between.shown == []
    assert between.shows_empty_week() and "No free times this week" in between.html
    next_times = re.search(r'<a href="([^"]+)" data-picker-link data-next-times-link><span data-next-times-word>Next'
                           r'</span> week with free times: <span data-next-times-label>([^<]+)</span>', between.html)
    assert next_times and parse_qs(urlsplit(next_times.group(1).replace("&amp;", "&")).query)["week"] == [
        calendar.week_b.isoformat()]
    assert calendar.b.strftime("%B") in next_times.group(2)
    assert between.query("previous-week")["week"] == [calendar.week_a.isoformat()]

    last = Page(tokyo_client.get(between.link("next-week")))
    assert last.week == calendar.week_b and len(last.shown) == 6
    assert last.link("next-week") is None and last.query("previous-week")["week"] == [calendar.week_between.isoformat()]
    assert Page(tokyo_client.get(last.link("previous-week"))).week == calendar.week_between


def test_a_week_with_times_has_no_empty_message(tokyo_client, specialist, calendar):
    html = tokyo_client.get(book_url(specialist)).get_data(as_text=True)
    assert re.search(r'data-testid="week-empty" hidden>', html)


@pytest.mark.parametrize("bad", ["junk", "2026-02-30", "2020-01-06", "2999-01-04", "-1", "105", "1e3", "%00",
                                 "2026-06-01T00:00", "x" * 60, "0"])
def test_bad_week_values_fall_back_to_the_first_week_with_free_times(tokyo_client, specialist, calendar, bad):
    response = tokyo_client.get(book_url(specialist, week=bad))
    assert response.status_code in (200, 400)  # a NUL byte is refused at the edge, never a 500
    if response.status_code == 200:
        assert Page(response).week == calendar.week_a


def test_several_week_values_use_the_first(tokyo_client, specialist, calendar):
    page = Page(tokyo_client.get(book_url(specialist, week=[calendar.week_b.isoformat(), "junk"])))
    assert page.week == calendar.week_b


def test_a_week_number_counts_from_this_week_in_the_viewers_zone(tokyo_client, specialist, calendar):
    this_week = monday_of(utcnow().astimezone(TOKYO).date())
    number = (calendar.week_b - this_week).days // 7
    assert Page(tokyo_client.get(book_url(specialist, week=str(number)))).week == calendar.week_b
    any_day = calendar.week_b + timedelta(days=3)  # a date in the week stands for its week
    assert Page(tokyo_client.get(book_url(specialist, week=any_day.isoformat()))).week == calendar.week_b


# --- time-of-day chips --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["morning", "afternoon", "evening", "weekend"])
def test_each_chip_filters_on_the_server_in_the_viewers_zone(tokyo_client, specialist, calendar, kind):
    page = Page(tokyo_client.get(book_url(specialist, part=kind)))
    expected = week_a(calendar, kind) + (week_a(calendar, "weekend") if kind == "evening" else [])
    assert page.week == calendar.week_a
    assert sorted(page.shown) == sorted(expected)
    assert len(page.hidden) == 14 - len(expected)  # still there, hidden, for the script to show again
    assert re.search(f'value="{kind}" form="slot-filter" data-chip checked>', page.html)
    assert page.text("slot-count") == f"{len(expected)} of 14 free times"
    assert page.query("next-week")["part"] == [kind]  # the week links keep the filter


def test_chips_combine_parts_and_narrow_to_the_weekend(tokyo_client, specialist, calendar):
    both = Page(tokyo_client.get(book_url(specialist, part=["morning", "afternoon"])))
    assert sorted(both.shown) == sorted(week_a(calendar, "morning") + week_a(calendar, "afternoon"))
    weekend_evenings = Page(tokyo_client.get(book_url(specialist, part=["evening", "weekend"])))
    assert weekend_evenings.shown == week_a(calendar, "weekend")


def test_a_filter_opens_the_first_week_that_matches_and_an_empty_one_offers_the_next(tokyo_client, specialist,
                                                                                       calendar):
    weekend_mornings = Page(tokyo_client.get(book_url(specialist, part=["morning", "weekend"])))
    assert weekend_mornings.week == calendar.week_b  # none in the first week
    assert weekend_mornings.shown == tokyo_times(calendar, calendar.b + timedelta(days=2), "09:00", "09:30")
    asked = Page(tokyo_client.get(book_url(specialist, week=calendar.week_a.isoformat(), part=["morning", "weekend"])))
    assert asked.week == calendar.week_a and asked.shown == [] and asked.shows_empty_week()
    assert "at the times of day you chose" in asked.html
    next_link = re.search(r'<a href="([^"]+)" data-picker-link data-next-times-link>', asked.html).group(1)
    query = parse_qs(urlsplit(next_link.replace("&amp;", "&")).query)
    assert query["week"] == [calendar.week_b.isoformat()] and query["part"] == ["morning", "weekend"]


def test_an_empty_filtered_week_after_the_last_match_offers_the_earlier_one(tokyo_client, specialist, calendar):
    page = Page(tokyo_client.get(book_url(specialist, week=calendar.week_b.isoformat(), part="afternoon")))
    assert page.week == calendar.week_b and page.shown == [] and page.shows_empty_week()
    earlier = re.search(r'<a href="([^"]+)" data-picker-link data-next-times-link><span data-next-times-word>Earlier'
                        r'</span> week with free times', page.html)
    assert earlier and parse_qs(urlsplit(earlier.group(1).replace("&amp;", "&")).query)["week"] == [
        calendar.week_a.isoformat()]


def test_a_filter_nothing_matches_offers_all_times(tokyo_client, specialist, calendar):
    page = Page(tokyo_client.get(book_url(specialist, part=["afternoon", "weekend"])))
    assert page.week == calendar.week_a and page.shown == [] and page.shows_empty_week()
    assert re.search(r'<p data-next-times hidden>', page.html)
    show_all = re.search(r'<p data-show-all>None in other weeks either. <a href="([^"]+)" data-show-all-link>',
                         page.html)
    assert show_all and "part=" not in show_all.group(1)


def test_unknown_chip_values_are_ignored(tokyo_client, specialist, calendar):
    page = Page(tokyo_client.get(book_url(specialist, part=["night", "<script>", "evening"])))
    assert sorted(page.shown) == sorted(week_a(calendar, "evening") + week_a(calendar, "weekend"))
    assert "<script>" not in page.html.split("<main", 1)[1]


def test_the_chips_form_keeps_the_week_the_time_and_the_choices(tokyo_client, specialist, calendar):
    slot = format_slot(calendar.slot(calendar.b, "17:30"))
    html = tokyo_client.get(book_url(specialist, slot=slot, format="phone", src="campaign")).get_data(as_text=True)
    form = re.search(r'<form id="slot-filter" method="get" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    assert form and form.group(1) == f"/specialists/{specialist.slug}/book"
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)"', form.group(2)))
    assert hidden == {"week": calendar.week_b.isoformat(), "slot": slot, "format": "phone", "src": "campaign"}
    assert 'data-chips-apply>Show times</button>' in html
    # The chips belong to that GET form, never to the booking POST.
    booking_form = html.split('class="stack booking-form"', 1)[1].split("</form>", 1)[0]
    parts = re.findall(r'<input type="checkbox" name="part" value="\w+"( form="slot-filter")?', booking_form)
    assert parts == [' form="slot-filter"'] * 4


# --- the chosen time ----------------------------------------------------------------------------

def test_a_chosen_time_opens_its_week_checked(tokyo_client, specialist, calendar):
    slot = format_slot(calendar.slot(calendar.b, "18:00"))
    page = Page(tokyo_client.get(book_url(specialist, slot=slot, format="phone")))
    assert page.week == calendar.week_b and page.checked == [slot]
    assert re.search(r'<details class="slot-day" data-slot-day open>\s*<summary><span id="slot-day-1">', page.html)
    assert re.search(r'<input checked[^>]*value="phone"', page.html)


def test_a_chosen_time_stays_chosen_in_another_week_and_the_links_keep_it(tokyo_client, specialist, calendar):
    slot = format_slot(calendar.slot(calendar.b, "18:00"))
    page = Page(tokyo_client.get(book_url(specialist, slot=slot, week=calendar.week_a.isoformat(), format="phone",
                                          src="campaign", part="evening")))
    assert page.week == calendar.week_a and page.checked == [slot]
    assert re.search(r'<input type="radio" name="slot" id="slot-pinned" value="' + slot + '" checked>', page.html)
    assert "Your chosen time" in page.text("pinned-slot")
    query = page.query("next-week")
    assert query == {"slot": [slot], "format": ["phone"], "src": ["campaign"], "week": [calendar.week_between.isoformat()],
                     "part": ["evening"]}
    # … and booking from here books that time: the POST and its rules are unchanged.
    response = tokyo_client.post(f"/specialists/{specialist.slug}/book", data={
        "slot": slot, "format": "phone", "note": "", "consent": "y", "src": "campaign"})
    assert response.status_code == 302
    booked = db.session.scalar(select(Consultation))
    assert format_slot(booked.start_utc) == slot and booked.source == "campaign" and booked.format == "phone"


def test_a_chosen_time_that_was_taken_says_so_and_shows_the_first_week(tokyo_client, specialist, calendar, make_user):
    taken = calendar.slot(calendar.b, "18:00")
    book(make_user(Role.CLIENT), specialist, taken)
    refresh_next_available([specialist.id])
    db.session.commit()
    page = Page(tokyo_client.get(book_url(specialist, slot=format_slot(taken))))
    assert "this time was just taken" in page.html and page.week == calendar.week_a and page.checked == []


def test_logging_in_comes_back_to_the_chosen_times_week(client, specialist, calendar, make_user):
    user = make_user(Role.CLIENT, timezone="Asia/Tokyo")
    slot = format_slot(calendar.slot(calendar.b, "17:00"))
    prompt = client.get(book_url(specialist, slot=slot)).get_data(as_text=True)
    assert "You need to be logged in to book a consultation" in prompt
    login_link = re.search(r'href="(/auth/login\?next=[^"]+)"', prompt).group(1).replace("&amp;", "&")
    next_url = parse_qs(urlsplit(login_link).query)["next"][0]
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "next": next_url})
    assert response.status_code == 302 and response.headers["Location"].endswith(book_url(specialist, slot=slot))
    page = Page(client.get(response.headers["Location"]))
    assert page.week == calendar.week_b and page.checked == [slot]


def test_a_failed_post_keeps_the_posted_times_week(tokyo_client, specialist, calendar):
    slot = format_slot(calendar.slot(calendar.b, "17:00"))
    page = Page(tokyo_client.post(f"/specialists/{specialist.slug}/book", data={"slot": slot, "format": "phone"}),
                status=422)  # no consent
    assert page.week == calendar.week_b and page.checked == [slot]


# --- rescheduling -------------------------------------------------------------------------------

def test_rescheduling_pages_by_week_and_moves_to_a_later_week(tokyo_client, tokyo_user, specialist, calendar):
    current = calendar.slot(calendar.a, "09:00")
    consultation = book(tokyo_user, specialist, current)
    url = f"/consultations/{consultation.id}/reschedule"
    first = Page(tokyo_client.get(url))
    assert first.week == calendar.week_a and format_slot(current) not in first.shown + first.hidden
    assert len(first.shown) == 13 and urlsplit(first.link("next-week")).path == url
    later = Page(tokyo_client.get(first.link("next-week")))
    assert later.week == calendar.week_between and later.shows_empty_week()
    target = calendar.slot(calendar.b, "18:30")
    b_week = Page(tokyo_client.get(f"{url}?week={calendar.week_b.isoformat()}&part=evening"))
    assert b_week.shown == tokyo_times(calendar, calendar.b, "17:00", "17:30", "18:00", "18:30")
    chosen = Page(tokyo_client.get(f"{url}?slot={format_slot(target)}"))
    assert chosen.week == calendar.week_b and chosen.checked == [format_slot(target)]
    response = tokyo_client.post(url, data={"slot": format_slot(target)})
    assert response.status_code == 302
    moved = db.session.scalar(select(Consultation).where(Consultation.rescheduled_from_id == consultation.id))
    assert moved is not None and moved.start_utc == target


# --- the POST is unchanged ----------------------------------------------------------------------

def test_any_free_time_can_be_booked_whatever_week_is_shown(tokyo_client, specialist, calendar):
    slot = calendar.slot(calendar.b + timedelta(days=2), "09:30")  # the last week, Sunday
    assert book_via_http(tokyo_client, specialist, slot, fmt="phone").status_code == 302
    assert db.session.scalar(select(Consultation.start_utc)) == slot
