"""Pure rules of the consultations domain: slot parsing, permissions per state and role."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from marketplace.consultations.booking import SLOT_TAKEN, BookingError, format_slot, parse_slot, slot_refusal
from marketplace.consultations.models import (
    Consultation,
    ConsultationKind,
    ConsultationOutcome,
    ConsultationState,
)
from marketplace.specialists.models import SpecialistProfile

UTC = timezone.utc


def person(uid: int | None, *, admin: bool = False):
    return SimpleNamespace(id=uid, is_authenticated=uid is not None, is_admin=admin)


CLIENT, SPECIALIST, OTHER, ADMIN, VISITOR = person(1), person(2), person(3), person(4, admin=True), person(None)


def consultation(state=ConsultationState.REQUESTED, starts_in=timedelta(days=1), outcome=None,
                 kind=ConsultationKind.FREE) -> Consultation:
    start = datetime.now(UTC) + starts_in
    c = Consultation(id=7, client_id=1, specialist_id=10, kind=kind, state=state, start_utc=start,
                     end_utc=start + timedelta(minutes=30), format="video", outcome=outcome, sequence=0)
    c.specialist = SpecialistProfile(id=10, user_id=2, slug="dr-x", display_name="Dr X")
    return c


def test_slot_round_trip():
    slot = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert format_slot(slot) == "2026-12-01T09:30:00Z"
    assert parse_slot(format_slot(slot)) == slot
    assert parse_slot("2026-12-01T10:30:00+01:00") == slot


@pytest.mark.parametrize("value", [None, "", "garbage", "2026-12-01T09:30:00", "x" * 100, "2026-13-01T00:00Z"])
def test_parse_slot_rejects(value):
    assert parse_slot(value) is None


def test_view_permissions():
    c = consultation()
    assert c.can_view(CLIENT) and c.can_view(SPECIALIST) and c.can_view(ADMIN)
    assert not c.can_view(OTHER) and not c.can_view(VISITOR)
    assert c.can_view_meeting_details(CLIENT) and c.can_view_meeting_details(SPECIALIST)
    assert not c.can_view_meeting_details(ADMIN)
    assert c.can_view_ics(CLIENT) and not c.can_view_ics(ADMIN) and not c.can_view_ics(OTHER)


def test_before_start():
    c = consultation()
    assert c.can_cancel(CLIENT) and c.can_cancel(SPECIALIST) and not c.can_cancel(ADMIN) and not c.can_cancel(OTHER)
    assert c.can_confirm(SPECIALIST) and not c.can_confirm(CLIENT)
    assert c.can_reschedule(CLIENT) and not c.can_reschedule(SPECIALIST)
    assert not c.can_record_outcome(SPECIALIST) and not c.can_complete(SPECIALIST)
    assert c.is_upcoming


def test_after_start():
    c = consultation(ConsultationState.CONFIRMED, starts_in=timedelta(minutes=-5))
    assert not c.can_cancel(CLIENT) and not c.can_cancel(SPECIALIST)
    assert not c.can_reschedule(CLIENT) and not c.can_confirm(SPECIALIST)
    assert c.can_record_outcome(SPECIALIST) and not c.can_record_outcome(CLIENT)
    assert c.can_complete(SPECIALIST) and not c.can_complete(CLIENT)


def test_only_the_client_moves_a_confirmed_paid_session_before_it_starts():
    paid = consultation(ConsultationState.CONFIRMED, kind=ConsultationKind.PAID)
    assert paid.can_move(CLIENT) and not paid.can_reschedule(CLIENT)  # moved in place, never rebooked
    assert not any(paid.can_move(p) for p in (SPECIALIST, OTHER, ADMIN, VISITOR))
    for state in (ConsultationState.PENDING_PAYMENT, ConsultationState.CANCELLED, ConsultationState.COMPLETED):
        assert not consultation(state, kind=ConsultationKind.PAID).can_move(CLIENT)
    assert not consultation(ConsultationState.CONFIRMED, starts_in=timedelta(minutes=-5),
                            kind=ConsultationKind.PAID).can_move(CLIENT)
    assert not consultation(ConsultationState.CONFIRMED).can_move(CLIENT)  # a free one is rescheduled
    assert paid.length_minutes == 30


def test_outcome_is_recorded_once_and_only_for_free_consultations():
    done = consultation(ConsultationState.COMPLETED, starts_in=timedelta(hours=-2),
                        outcome=ConsultationOutcome.PROCEED)
    assert not done.can_record_outcome(SPECIALIST)
    paid = consultation(ConsultationState.CONFIRMED, starts_in=timedelta(hours=-2), kind=ConsultationKind.PAID)
    assert not paid.can_record_outcome(SPECIALIST)


@pytest.mark.parametrize("state", [ConsultationState.CANCELLED, ConsultationState.COMPLETED,
                                   ConsultationState.NO_SHOW])
def test_closed_states_allow_no_changes(state):
    c = consultation(state)
    assert not (c.can_cancel(CLIENT) or c.can_confirm(SPECIALIST) or c.can_reschedule(CLIENT))
    assert not c.is_upcoming


def test_uid_is_stable_and_inherited():
    c = consultation()
    assert c.uid == "consultation-7@balance.example"
    c.ical_uid = "consultation-3@balance.example"
    assert c.uid == "consultation-3@balance.example"


def test_a_refused_booking_is_a_booking_error_with_its_code():
    taken = slot_refusal("taken")
    assert (taken.code, taken.message, taken.taken) == ("taken", SLOT_TAKEN, True)
    assert (slot_refusal("invalid").code, slot_refusal("invalid").taken) == ("invalid", False)
    assert BookingError("Choose a time.").code == "invalid"


# --- the deadline of a request (issue 13, item 5) --------------------------------------------------

def test_a_request_expires_after_the_window_or_at_the_minimum_notice_whichever_is_first():
    from marketplace.consultations.models import SchedulingSettings

    made = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    settings = SchedulingSettings.defaults_for(10)  # 48 h to confirm, 12 h notice
    far = made + timedelta(days=5)
    assert settings.confirm_deadline(made, far) == made + timedelta(hours=48)
    soon = made + timedelta(hours=20)
    assert settings.confirm_deadline(made, soon) == made + timedelta(hours=8)  # 12 h before the start
    settings.confirm_within_hours = 4
    assert settings.confirm_deadline(made, far) == made + timedelta(hours=4)
    settings.min_notice_minutes = 0
    assert settings.confirm_deadline(made, made + timedelta(hours=1)) == made + timedelta(hours=1)
    settings.min_notice_minutes = 24 * 60  # the start is already within the notice: due at once, never before
    assert settings.confirm_deadline(made, soon) == made


def test_a_request_past_its_deadline_cannot_be_confirmed_and_released_states_show_no_details():
    c = consultation(starts_in=timedelta(days=3))
    c.confirm_by_utc = datetime.now(UTC) + timedelta(hours=1)
    assert c.can_confirm(SPECIALIST) and not c.past_confirm_deadline()
    c.confirm_by_utc = datetime.now(UTC) - timedelta(minutes=1)
    assert not c.can_confirm(SPECIALIST) and c.past_confirm_deadline()
    expired = consultation(state=ConsultationState.EXPIRED)
    assert expired.is_released and not expired.can_view_meeting_details(CLIENT)
    assert not expired.can_cancel(CLIENT) and not expired.can_reschedule(CLIENT) and not expired.can_confirm(SPECIALIST)
    assert ConsultationState.EXPIRED.label == "Expired"
