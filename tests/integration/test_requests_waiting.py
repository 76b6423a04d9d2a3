"""Requests never go unanswered (issue 13, item 5, first part): a specialist's navigation shows how
many consultation requests wait for them, on every page, loaded with the session's user (no query
of its own)."""
from __future__ import annotations

import re

from marketplace.auth.models import Role
from marketplace.consultations.models import SchedulingSettings
from marketplace.extensions import db
from tests.integration.test_consultations import book, first_free_slot, login, move_into_past, open_all_week

BADGE = re.compile(r'data-testid="requests-badge">(\d+)<')


def badge(client, path: str = "/specialists") -> int | None:  # type: ignore[no-untyped-def]
    found = BADGE.search(client.get(path).get_data(as_text=True))
    return int(found.group(1)) if found else None


def test_the_specialists_navigation_counts_requests_waiting(client, make_specialist, make_user, count_queries):
    specialist = make_specialist(formats=["video"])
    open_all_week(specialist)  # no settings row: requests wait for the specialist to confirm
    assert db.session.get(SchedulingSettings, specialist.id) is None
    requests = [book(make_user(Role.CLIENT), specialist, first_free_slot(specialist, after_hours=3 * i))
                for i in range(3)]
    move_into_past(requests[2])  # a request whose time has passed no longer waits
    db.session.commit()

    login(client, specialist.user)
    assert badge(client) == 2 and badge(client, "/") == 2
    with count_queries() as counter:
        client.get("/specialists")
    statements = [s for s in counter.statements if not s.strip().upper().startswith("BEGIN")]
    assert len(statements) == 1, statements  # the user, with the session and the badges: one query

    response = client.post(f"/consultations/{requests[0].id}/confirm")
    assert response.status_code == 302
    assert badge(client) == 1


def test_clients_and_visitors_see_no_requests_badge(client, make_specialist, make_user):
    specialist = make_specialist(formats=["video"])
    open_all_week(specialist)
    patient = make_user(Role.CLIENT)
    book(patient, specialist)
    assert badge(client) is None
    login(client, patient)
    assert badge(client) is None
