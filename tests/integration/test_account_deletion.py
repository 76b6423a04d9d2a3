"""Deleting an account tells the other side, in the deleted person's name, before names are erased."""
from datetime import timedelta

from marketplace.auth.models import Role
from marketplace.consultations.availability import free_slots_for, refresh_next_available, set_weekly_hours
from marketplace.consultations.booking import book_free_consultation
from marketplace.consultations.models import Consultation, ConsultationState
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.factories import PASSWORD


def test_specialist_deleting_account_cancels_consultations_in_their_name(app, client, auth, make_specialist,
                                                                          make_user):
    profile = make_specialist(display_name="Dr Ada Example")
    set_weekly_hours(profile.id, [(day, "00:00", "23:30") for day in range(7)])
    db.session.flush()
    refresh_next_available([profile.id])
    db.session.commit()
    patient = make_user(Role.CLIENT, email="patient@example.test")
    slot = next(s for s in free_slots_for(profile) if s > utcnow() + timedelta(hours=14))
    booked = book_free_consultation(patient, profile, slot, "video", None)
    db.session.commit()
    app.extensions["mail_outbox"] = []

    auth.login_as(profile.user)
    assert client.post("/account/delete", data={"password": PASSWORD}).status_code == 302

    consultation = db.session.get(Consultation, booked.id)
    assert consultation.state is ConsultationState.CANCELLED
    to_patient = [m for m in app.extensions["mail_outbox"] if "patient@example.test" in str(m["To"])]
    assert to_patient, "the client was not told"
    text = to_patient[0].get_body(preferencelist=("plain",)).get_content()
    assert "Dr Ada Example" in text and "Deleted specialist" not in text
    db.session.refresh(profile)
    assert profile.display_name == "Deleted specialist" and not profile.is_published
