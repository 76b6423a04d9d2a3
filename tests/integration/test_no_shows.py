"""No-shows both ways (issue 17, item 5): a client reports that the specialist did not come.

The report gives the client's free consultation back (a new free booking with that specialist
succeeds: the partial unique index allows it, on both databases), joins the admin's queue, e-mails
the specialist, and two reports in 90 days make the specialist ineligible for the campaign. Another
client gets a 404; before the start there is a clear message and nothing changes.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.auth.models import Role
from marketplace.consultations.booking import book_free_consultation, client_standing
from marketplace.consultations.lifecycle import ConsultationError, confirm_consultation
from marketplace.consultations.models import Consultation, ConsultationState, NoShowReport
from marketplace.consultations.no_shows import (
    CANNOT_REPORT,
    NOT_YET,
    TOO_LATE,
    list_no_show_reports,
    report_specialist_no_show,
    review_no_show_report,
)
from marketplace.database import commit, utcnow
from marketplace.extensions import db
from marketplace.featured.services import (
    REASON_NO_SHOWS,
    active_featured_profile_ids,
    eligible_for_featuring,
)
from tests.integration.test_consultations import book, first_free_slot, login, mails, move_into_past, open_all_week
from tests.integration.test_featured import make_campaign

REPORT = {"confirm": "y", "note": "I waited 30 minutes in the video room."}


@pytest.fixture
def specialist(app, make_specialist):
    profile = make_specialist(display_name="Dr Mara Weiss", formats=["video"], timezone="Europe/Berlin")
    open_all_week(profile)
    return profile


@pytest.fixture
def patient(app, make_user):
    return make_user(Role.CLIENT, display_name="Alex Morgan", timezone="Asia/Tokyo")


def confirmed(patient, specialist, *, started_hours_ago: float | None = 1) -> Consultation:
    consultation = book(patient, specialist)
    confirm_consultation(consultation, specialist.user)
    commit()
    if started_hours_ago is not None:
        move_into_past(consultation, hours=started_hours_ago)
    return consultation


def fresh(consultation: Consultation) -> Consultation:
    db.session.expire_all()
    found = db.session.get(Consultation, consultation.id)
    assert found is not None
    return found


def reports() -> int:
    return db.session.scalar(select(func.count(NoShowReport.id))) or 0


# --- the service rule ------------------------------------------------------------------------------

def test_a_report_restores_the_free_consultation_and_a_new_free_booking_succeeds(app, specialist, patient):
    consultation = confirmed(patient, specialist)
    assert not client_standing(patient.id, specialist.id).can_book_free

    report_specialist_no_show(consultation, patient, "They never joined.")
    commit()

    assert fresh(consultation).state is ConsultationState.SPECIALIST_NO_SHOW
    assert client_standing(patient.id, specialist.id).can_book_free
    # The database's one-free-per-pair rule lets the new booking through.
    book_free_consultation(patient, specialist, first_free_slot(specialist), "video")  # raises if refused
    commit()
    assert db.session.scalar(select(func.count(Consultation.id)).where(
        Consultation.client_id == patient.id, Consultation.specialist_id == specialist.id)) == 2


def test_a_report_is_queued_for_the_admin_and_the_specialist_is_emailed_once(app, specialist, patient):
    consultation = confirmed(patient, specialist)
    report_specialist_no_show(consultation, patient, "They never joined.")
    commit()
    [queued] = list_no_show_reports("open")
    assert (queued.consultation_id, queued.specialist_id, queued.client_id) == (consultation.id, specialist.id,
                                                                                 patient.id)
    assert queued.note == "They never joined."
    to_specialist = [m for m in mails(app) if specialist.user.email in str(m["To"])
                     and "reported that you missed" in str(m["Subject"])]
    assert len(to_specialist) == 1
    body = to_specialist[0].get_body(preferencelist=("plain",)).get_content()
    assert "Alex reported that you did not come" in body and "Europe/Berlin" in body


def test_a_consultation_is_reported_once(app, specialist, patient):
    consultation = confirmed(patient, specialist)
    report_specialist_no_show(consultation, patient)
    commit()
    with pytest.raises(ConsultationError) as raised:
        report_specialist_no_show(fresh(consultation), patient)
    assert str(raised.value) == CANNOT_REPORT
    assert reports() == 1


def test_before_the_start_a_report_is_refused_with_a_clear_message(app, specialist, patient):
    consultation = confirmed(patient, specialist, started_hours_ago=None)
    with pytest.raises(ConsultationError) as raised:
        report_specialist_no_show(consultation, patient)
    assert str(raised.value) == NOT_YET
    assert fresh(consultation).state is ConsultationState.CONFIRMED and reports() == 0


def test_a_week_after_the_start_a_report_is_refused(app, specialist, patient):
    consultation = confirmed(patient, specialist)
    with pytest.raises(ConsultationError) as raised:
        report_specialist_no_show(consultation, patient, now=utcnow() + timedelta(days=7))
    assert str(raised.value) == TOO_LATE
    assert reports() == 0


def test_the_specialist_cannot_report_themselves(app, specialist, patient):
    consultation = confirmed(patient, specialist)
    with pytest.raises(ConsultationError):
        report_specialist_no_show(consultation, specialist.user)
    assert reports() == 0


# --- campaign eligibility -----------------------------------------------------------------------------

def test_two_reports_in_90_days_make_the_specialist_ineligible_until_one_is_dismissed(app, specialist,
                                                                                       make_user, make_specialist):
    other = make_specialist(display_name="Dr Other")
    make_campaign(specialist, other)
    admin = make_user(Role.ADMIN)
    first, second = (make_user(Role.CLIENT) for _ in range(2))
    report_specialist_no_show(confirmed(first, specialist), first)
    commit()
    assert eligible_for_featuring(specialist) == (True, [])  # one report is not "repeated"

    report_specialist_no_show(confirmed(second, specialist), second)
    commit()
    assert eligible_for_featuring(specialist) == (False, [REASON_NO_SHOWS])
    assert active_featured_profile_ids() == [other.id]  # the SQL twin agrees

    [latest, _older] = list_no_show_reports("open")
    review_no_show_report(latest, admin, dismiss=True)
    commit()
    assert eligible_for_featuring(specialist) == (True, [])
    assert active_featured_profile_ids() == [specialist.id, other.id]


def test_reports_older_than_90_days_do_not_count(app, specialist, make_user):
    for _ in range(2):
        client_user = make_user(Role.CLIENT)
        report_specialist_no_show(confirmed(client_user, specialist), client_user)
    commit()
    for report in db.session.scalars(select(NoShowReport)):
        report.created_at = utcnow() - timedelta(days=91)
    commit()
    assert eligible_for_featuring(specialist) == (True, [])


# --- over HTTP ---------------------------------------------------------------------------------------

def test_the_client_reports_on_the_consultation_page(app, client, specialist, patient):
    consultation = confirmed(patient, specialist)
    login(client, patient)
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "Report that the specialist did not come" in page
    response = client.post(f"/consultations/{consultation.id}/report-no-show", data=REPORT)
    assert response.status_code == 302
    assert fresh(consultation).state is ConsultationState.SPECIALIST_NO_SHOW
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "Specialist did not come" in page and "available again" in page
    booking = client.get(f"/specialists/{specialist.slug}/book").get_data(as_text=True)
    assert "There is one free consultation per specialist" not in booking


def test_another_client_gets_404_and_nothing_changes(app, client, specialist, patient, make_user):
    consultation = confirmed(patient, specialist)
    login(client, make_user(Role.CLIENT))
    assert client.post(f"/consultations/{consultation.id}/report-no-show", data=REPORT).status_code == 404
    assert fresh(consultation).state is ConsultationState.CONFIRMED and reports() == 0


def test_before_the_start_the_page_says_so_and_nothing_changes(app, client, specialist, patient):
    consultation = confirmed(patient, specialist, started_hours_ago=None)
    login(client, patient)
    assert "Report that the specialist did not come" not in client.get(
        f"/consultations/{consultation.id}").get_data(as_text=True)
    response = client.post(f"/consultations/{consultation.id}/report-no-show", data=REPORT)
    assert response.status_code == 422
    assert NOT_YET.replace("'", "&#39;") in response.get_data(as_text=True)
    assert fresh(consultation).state is ConsultationState.CONFIRMED and reports() == 0


def test_the_tick_box_is_required(app, client, specialist, patient):
    consultation = confirmed(patient, specialist)
    login(client, patient)
    response = client.post(f"/consultations/{consultation.id}/report-no-show", data={"note": "x"})
    assert response.status_code == 422
    assert fresh(consultation).state is ConsultationState.CONFIRMED


def test_the_admin_queue_lists_reports_and_marks_them_reviewed(app, client, specialist, patient, make_user):
    consultation = confirmed(patient, specialist)
    report_specialist_no_show(consultation, patient, "I waited 30 minutes.")
    commit()
    login(client, make_user(Role.ADMIN))
    page = client.get("/admin/no-shows").get_data(as_text=True)
    assert "Dr Mara Weiss" in page and "I waited 30 minutes." in page and "Alex Morgan" in page
    [report] = db.session.scalars(select(NoShowReport)).all()
    response = client.post(f"/admin/no-shows/{report.id}/review", data={"dismiss": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(NoShowReport, report.id).reviewed_at is not None
    assert "No reports here." in client.get("/admin/no-shows").get_data(as_text=True)
    assert "Dr Mara Weiss" in client.get("/admin/no-shows?show=reviewed").get_data(as_text=True)


def test_the_admin_queue_is_for_admins_only(app, client, patient):
    login(client, patient)
    assert client.get("/admin/no-shows").status_code in (403, 404)
