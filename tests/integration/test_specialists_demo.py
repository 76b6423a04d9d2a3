"""Demo specialists: the hand-written 24 plus bulk-generated ones, idempotent, on both backends."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.auth.models import Role, User
from marketplace.demo import content
from marketplace.demo.registry import DemoContext
from marketplace.extensions import db
from marketplace.specialists.demo import seed_specialists
from marketplace.specialists.models import SpecialistProfile, VerificationStatus, profile_languages
from marketplace.specialists.services import missing_profile_fields


def count(model_or_table) -> int:
    return db.session.scalar(select(func.count()).select_from(model_or_table))


def test_demo_specialists_are_complete_published_and_idempotent(client):
    ctx = DemoContext(extra={"bulk": 30})
    seed_specialists(ctx)
    db.session.commit()
    assert len(ctx.profiles) == 24 and len(ctx.specialist_users) == 24
    assert count(SpecialistProfile) == 54 and count(User) == 54
    assert set(ctx.extra["weekly_hours"]) == set(db.session.scalars(select(SpecialistProfile.id)))

    lena = db.session.scalar(select(SpecialistProfile).where(SpecialistProfile.slug == "lena-hartmann"))
    assert lena.user.email == "lena-hartmann@balance.example" and lena.user.role is Role.SPECIALIST
    assert lena.is_published and missing_profile_fields(lena) == []
    assert {s.slug for s in lena.specialties} == {"anxiety", "ocd", "stress"}
    for spec in content.SPECIALISTS:
        profile = next(p for p in ctx.profiles if p.slug == spec["slug"])
        expected = (VerificationStatus.VERIFIED if spec["verified"] else
                    VerificationStatus.REJECTED if spec["slug"] in content.REJECTED_LICENCES else VerificationStatus.PENDING)
        assert profile.verification_status is expected
    generated = db.session.scalars(select(SpecialistProfile).where(SpecialistProfile.slug.like("%-1"))).all()
    assert generated and all(p.is_published and not missing_profile_fields(p) for p in generated)
    assert count(profile_languages) >= 54

    # Again: nothing duplicated, the same profiles handed to later seeders.
    again = DemoContext(extra={"bulk": 30})
    seed_specialists(again)
    db.session.commit()
    assert count(SpecialistProfile) == 54 and [p.id for p in again.profiles] == [p.id for p in ctx.profiles]

    # The public pages work with the seeded data.
    assert "Dr. Lena Hartmann" in client.get("/specialists?q=Hartmann").get_data(as_text=True)
    assert client.get("/specialists/lena-hartmann").status_code == 200

