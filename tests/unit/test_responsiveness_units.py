"""Measured responsiveness, the pure parts (issue 17, item 2): the median, the waits of a
conversation and of a request, the threshold of 5 data points, and the words shown."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace.messaging.responsiveness import (
    MIN_DATA_POINTS,
    Said,
    confirm_wait,
    median,
    reply_waits,
    shown_minutes,
)
from marketplace.specialists.responsiveness import NEW_PROFILE_AGE, describe, within

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=10)
SINCE = T0 - timedelta(days=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(("values", "expected"), [
    ([], None),
    ([7], 7),
    ([30, 10, 20], 20),  # odd: the middle one once sorted
    ([40, 10, 30, 20], 25),  # even: the mean of the two middle ones
    ([5, 5, 5, 600, 900], 5),  # robust: one slow reply does not move it
])
def test_median_by_hand(values, expected):
    assert median(values) == expected


def test_a_wait_runs_from_the_first_client_message_to_the_specialists_next():
    conversation = [Said(True, at(0)), Said(True, at(10)), Said(False, at(90)),  # one wait: 90
                    Said(False, at(100)),  # the specialist again: no wait
                    Said(True, at(200)), Said(False, at(230))]  # resumed: 30
    assert reply_waits(conversation, SINCE, NOW) == [timedelta(minutes=90), timedelta(minutes=30)]


def test_a_conversation_the_specialist_opened_counts_only_the_clients_turns():
    conversation = [Said(False, at(0)), Said(True, at(60)), Said(False, at(75))]
    assert reply_waits(conversation, SINCE, NOW) == [timedelta(minutes=15)]


def test_waits_that_began_before_the_window_are_left_out():
    conversation = [Said(True, at(0)), Said(False, at(30)), Said(True, at(100)), Said(False, at(160))]
    assert reply_waits(conversation, at(50), NOW) == [timedelta(minutes=60)]


def test_an_unanswered_message_counts_only_once_it_waited_48_hours():
    recent = [Said(True, NOW - timedelta(hours=5))]
    old = [Said(True, NOW - timedelta(hours=50))]
    assert reply_waits(recent, SINCE, NOW) == []
    assert reply_waits(old, SINCE, NOW) == [timedelta(hours=50)]


def test_confirm_wait():
    assert confirm_wait(at(0), at(45), None) == timedelta(minutes=45)
    assert confirm_wait(at(0), None, at(48 * 60)) == timedelta(hours=48)  # expired unconfirmed
    assert confirm_wait(at(0), None, None) is None  # withdrawn or still waiting


def test_hidden_below_five_data_points_and_the_median_in_whole_minutes_above():
    waits = [timedelta(minutes=m) for m in (12, 200, 45, 61, 30)]
    assert shown_minutes(waits[:MIN_DATA_POINTS - 1]) is None
    assert shown_minutes(waits) == 45  # sorted 12, 30, 45, 61, 200
    assert shown_minutes([*waits, timedelta(minutes=100)]) == 53  # (45 + 61) / 2 = 53
    assert shown_minutes([timedelta(seconds=s) for s in (61, 61, 61, 61, 61)]) == 2  # rounded up


@pytest.mark.parametrize(("minutes", "words"), [
    (1, "within an hour"), (60, "within an hour"), (61, "within 2 hours"), (180, "within 3 hours"),
    (48 * 60, "within 48 hours"), (49 * 60, "within 3 days"),
])
def test_within(minutes, words):
    assert within(minutes) == words


def test_describe_new_profiles_and_old_ones_without_figures():
    young = NOW - NEW_PROFILE_AGE + timedelta(days=1)
    old = NOW - NEW_PROFILE_AGE - timedelta(days=1)
    figures = describe(30, 150, old, NOW)
    assert (figures.replies, figures.confirms, figures.new) == (
        "Usually replies within an hour", "Usually confirms requests within 3 hours", False)
    assert describe(None, None, young, NOW).new
    assert not describe(None, None, old, NOW).shown  # nothing at all
    assert not describe(None, 200, young, NOW).new  # a figure says more than "new"
