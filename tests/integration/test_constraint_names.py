"""``database.violated_constraint``: the constraint a write violated, by the name the models give
it, on SQLite and PostgreSQL alike (services classify races by name, never by driver text)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from marketplace.auth.models import Role, User
from marketplace.consultations.models import (
    ONE_FREE_PER_PAIR_INDEX,
    Consultation,
    ConsultationKind,
    ConsultationState,
    OccupiedBlock,
)
from marketplace.database import utcnow, violated_constraint
from marketplace.extensions import db


def _violation(statement, rows) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        with db.session.begin_nested():
            db.session.execute(statement, rows)
    return caught.value


def _consultation(client_id: int, specialist_id: int, start) -> dict:
    return {"client_id": client_id, "specialist_id": specialist_id, "kind": ConsultationKind.FREE,
            "state": ConsultationState.REQUESTED, "start_utc": start, "end_utc": start + timedelta(minutes=30),
            "format": "video", "sequence": 0, "created_at": utcnow(), "ical_uid": f"uid-{start.timestamp()}"}


def test_each_kind_of_constraint_is_named_as_in_the_models(app, make_specialist, make_user):
    specialist = make_specialist()
    client = make_user(role=Role.CLIENT)
    db.session.commit()
    start = utcnow().replace(microsecond=0) + timedelta(days=2)

    # A unique constraint over two columns (a taken slot).
    db.session.execute(insert(Consultation), [_consultation(client.id, specialist.id, start)])
    consultation_id = db.session.scalar(db.select(Consultation.id))
    block = {"specialist_id": specialist.id, "block_start_utc": start, "consultation_id": consultation_id}
    db.session.execute(insert(OccupiedBlock), [block])
    assert violated_constraint(_violation(insert(OccupiedBlock), [block])) == "uq_occupied_blocks_specialist_block"

    # A partial unique index (a second free consultation with the same specialist).
    second = _consultation(client.id, specialist.id, start + timedelta(hours=3))
    assert violated_constraint(_violation(insert(Consultation), [second])) == ONE_FREE_PER_PAIR_INDEX

    # A column declared unique (named by the naming convention).
    twin = {"email": client.email, "password_hash": "x", "display_name": "Twin", "role": Role.CLIENT,
            "timezone": "UTC", "created_at": utcnow()}
    assert violated_constraint(_violation(insert(User), [twin])) == "uq_users_email"

    # A CHECK constraint.
    backwards = {**_consultation(make_user(role=Role.CLIENT).id, specialist.id, start + timedelta(days=1)),
                 "end_utc": start}
    assert violated_constraint(_violation(insert(Consultation), [backwards])) == (
        "ck_consultations_consultation_end_after_start")
