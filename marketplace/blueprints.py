"""The blueprints and where they are mounted."""
from __future__ import annotations

from flask import Blueprint


def BLUEPRINTS() -> list[tuple[Blueprint, str | None]]:
    from marketplace.account import bp as account
    from marketplace.admin import bp as admin
    from marketplace.articles import bp as articles
    from marketplace.auth import bp as auth
    from marketplace.clients import bp as clients
    from marketplace.consultations import bp as consultations
    from marketplace.contact import bp as contact
    from marketplace.featured import bp as featured
    from marketplace.main import bp as main
    from marketplace.messaging import bp as messaging
    from marketplace.payments import bp as payments
    from marketplace.questions import bp as questions
    from marketplace.specialists import bp as specialists

    return [
        (main, None),
        (auth, "/auth"),
        (account, "/account"),
        (specialists, "/specialists"),
        (consultations, None),  # /specialists/<slug>/book, /specialists/me/availability, /consultations/…
        (messaging, "/messages"),
        (questions, "/questions"),
        (articles, "/articles"),
        (contact, "/contact"),
        (admin, "/admin"),
        (featured, None),  # /campaign, /admin/featured
        (payments, "/payments"),
        (clients, None),  # /specialists/me/clients…
    ]
