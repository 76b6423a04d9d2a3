"""``flask demo-data``: accounts first, then each domain's seeder (idempotent)."""
from __future__ import annotations

from sqlalchemy import func, select

# Each domain's seeders (``@demo_seeder``) are registered when its demo module is imported.
from marketplace.articles import demo as _articles_demo  # noqa: F401
from marketplace.auth.models import Role, User, find_user_by_email
from marketplace.auth.services import register_user
from marketplace.consultations import demo as _consultations_demo  # noqa: F401
from marketplace.demo.registry import DemoContext, ordered_seeders
from marketplace.extensions import db
from marketplace.featured import demo as _featured_demo  # noqa: F401
from marketplace.messaging import demo as _messaging_demo  # noqa: F401
from marketplace.questions import demo as _questions_demo  # noqa: F401
from marketplace.specialists import demo as _specialists_demo  # noqa: F401

ADMIN_EMAIL = "admin@balance.example"
CLIENTS = [
    ("client@balance.example", "Alex", "Europe/Berlin"),
    ("sam@balance.example", "Sam", "America/New_York"),
    ("yuki@balance.example", "Yuki", "Asia/Tokyo"),
]


def _user(email: str, name: str, role: Role, tz: str, password: str) -> User:
    user = find_user_by_email(email)
    if user is None:
        user = register_user(email=email, password=password, display_name=name, role=role, timezone=tz,
                             confirmed=True)
    return user


def load_demo_data(*, bulk: int = 0, if_empty: bool = False) -> str:
    if if_empty and db.session.scalar(select(func.count(User.id))):
        return "Database already has data; demo data not loaded."
    ctx = DemoContext(extra={"bulk": bulk})
    ctx.admin = _user(ADMIN_EMAIL, "Balance admin", Role.ADMIN, "Europe/London", ctx.password)
    ctx.clients = [_user(e, n, Role.CLIENT, tz, ctx.password) for e, n, tz in CLIENTS]
    for seeder in ordered_seeders():
        seeder(ctx)
    db.session.flush()
    first_specialist = ctx.specialist_users[0].email if ctx.specialist_users else "(none)"
    return "\n".join([
        "Demo data ready. Log in at http://127.0.0.1:5000/auth/login with password "
        f"'{ctx.password}' as:",
        f"  admin:      {ADMIN_EMAIL}",
        f"  client:     {CLIENTS[0][0]}",
        f"  specialist: {first_specialist}",
    ])
