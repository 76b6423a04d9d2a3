"""Earnings per month (payments domain, ``reports.monthly_earnings``) on SQLite and PostgreSQL, the
specialist's page and its CSV export, and who may see them."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from marketplace.auth.models import Role
from marketplace.consultations.models import Consultation, ConsultationKind, ConsultationState
from marketplace.extensions import db
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.payments.reports import csv_cell, earnings_csv, monthly_earnings
from tests.factories import AuthActions


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def paid_session(client_user: Any, profile: Any, paid_at: datetime | None, *, amount: int = 9000,
                 currency: str = "EUR", status: PaymentStatus = PaymentStatus.PAID,
                 refunded_at: datetime | None = None) -> Payment:
    start = (paid_at or utc(2026, 10, 1, 9)) + timedelta(days=2)
    consultation = Consultation(
        client_id=client_user.id, specialist_id=profile.id, kind=ConsultationKind.PAID,
        state=ConsultationState.CANCELLED if refunded_at else ConsultationState.COMPLETED,
        start_utc=start, end_utc=start + timedelta(minutes=50), format="video", price_minor=amount, currency=currency)
    db.session.add(consultation)
    db.session.flush()
    payment = Payment(consultation_id=consultation.id, provider="stripe", provider_checkout_id=f"cs_{consultation.id}",
                      amount_minor=amount, currency=currency, status=status, paid_at=paid_at, refunded_at=refunded_at,
                      created_at=paid_at or utc(2026, 10, 1, 9))
    db.session.add(payment)
    db.session.commit()
    return payment


@pytest.fixture
def ledger(make_user: Any, make_specialist: Any) -> dict[str, Any]:
    """A Berlin specialist's payments over two months, with a refund, a second currency, one paid
    at 23:30 UTC on 31 October (1 November in Berlin), one never paid and one expired; and another
    specialist's payment."""
    profile = make_specialist()  # user and profile in Europe/Berlin
    other = make_specialist()
    client_user = make_user()
    paid_session(client_user, profile, utc(2026, 10, 10, 12))
    paid_session(client_user, profile, utc(2026, 10, 20, 12), status=PaymentStatus.REFUNDED,
                 refunded_at=utc(2026, 11, 2, 10))
    paid_session(client_user, profile, utc(2026, 10, 31, 23, 30))
    paid_session(client_user, profile, utc(2026, 11, 5, 8), amount=5000, currency="GBP")
    paid_session(client_user, profile, None, status=PaymentStatus.PENDING)
    paid_session(client_user, profile, None, status=PaymentStatus.EXPIRED)
    paid_session(client_user, other, utc(2026, 11, 6, 8), amount=12000)
    return {"profile": profile, "other": other, "client": client_user}


def table(rows: list[Any]) -> list[tuple[str, str, int, int, int, int, int]]:
    return [(r.month, r.currency, r.paid_sessions, r.gross_minor, r.refunds, r.refunded_minor, r.net_minor)
            for r in rows]


def test_earnings_per_month_in_the_specialists_zone(app: Any, ledger: dict[str, Any]) -> None:
    rows = monthly_earnings("Europe/Berlin", specialist_id=ledger["profile"].id)
    assert table(rows) == [  # newest month first; one row per currency
        ("2026-11", "EUR", 1, 9000, 1, 9000, 0),  # paid 00:30 on 1 November in Berlin; the October refund
        ("2026-11", "GBP", 1, 5000, 0, 0, 5000),
        ("2026-10", "EUR", 2, 18000, 0, 0, 18000),
    ]
    assert rows[0].money(rows[0].gross_minor) == "€90" and rows[0].month_label == "November 2026"


def test_months_follow_the_zone_asked_for(app: Any, ledger: dict[str, Any]) -> None:
    rows = monthly_earnings("UTC", specialist_id=ledger["profile"].id)
    assert table(rows) == [
        ("2026-11", "EUR", 0, 0, 1, 9000, -9000),  # a refund in a month without payments: negative net
        ("2026-11", "GBP", 1, 5000, 0, 0, 5000),
        ("2026-10", "EUR", 3, 27000, 0, 0, 27000),
    ]


def test_everyones_earnings_from_the_same_query(app: Any, ledger: dict[str, Any]) -> None:
    rows = {(r.month, r.currency): r for r in monthly_earnings("Europe/Berlin")}
    assert rows[("2026-11", "EUR")].paid_sessions == 2  # the other specialist's payment too
    assert rows[("2026-11", "EUR")].gross_minor == 21000


def test_the_admin_payments_page_shows_the_same_figures_per_month(app: Any, client: Any, make_user: Any,
                                                                   ledger: dict[str, Any]) -> None:
    AuthActions(client).login_as(make_user(role=Role.ADMIN))
    html = client.get("/admin/payments").get_data(as_text=True)
    months = re.search(r'data-testid="payments-months"(.*?)</table>', html, re.S).group(1)
    # UTC months, everyone's: October's three EUR sessions; November's refund, GBP session and the
    # other specialist's €120.
    assert re.findall(r'<th scope="row">([^<]+)</th><td>([A-Z]{3})</td><td>(\d+)</td><td>([^<]+)</td>', months) == [
        ("November 2026", "EUR", "1", "€120"), ("November 2026", "GBP", "1", "£50"),
        ("October 2026", "EUR", "3", "€270")]
    assert "-€90" not in months and "€30" in months  # November EUR net: €120 paid, €90 refunded


def test_csv_has_amounts_in_major_units_oldest_month_first(app: Any, ledger: dict[str, Any]) -> None:
    text = earnings_csv(monthly_earnings("Europe/Berlin", specialist_id=ledger["profile"].id))
    assert list(csv.reader(io.StringIO(text))) == [
        ["Month", "Currency", "Paid sessions", "Gross", "Refunds", "Refunded", "Net"],
        ["2026-10", "EUR", "2", "180.00", "0", "0.00", "180.00"],
        ["2026-11", "EUR", "1", "90.00", "1", "90.00", "0.00"],
        ["2026-11", "GBP", "1", "50.00", "0", "0.00", "50.00"],
    ]


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("2026-10", "2026-10"), ("EUR", "EUR"), (-90, "-90"),
])
def test_csv_cells_never_start_a_formula(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


def test_the_specialist_sees_the_page_and_downloads_the_csv(app: Any, client: Any, ledger: dict[str, Any]) -> None:
    AuthActions(client).login_as(ledger["profile"].user)
    html = client.get("/specialists/me/earnings").get_data(as_text=True)
    assert html.count('data-testid="earnings-row"') == 3
    assert 'data-month="2026-11" data-currency="EUR"' in html and "Europe/Berlin" in html
    assert "£50" in html and "€180" in html
    response = client.get("/specialists/me/earnings.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.get_data(as_text=True).splitlines()[1] == "2026-10,EUR,2,180.00,0,0.00,180.00"
    stats = client.get("/specialists/me/stats").get_data(as_text=True)
    assert 'href="/specialists/me/earnings"' in stats


def test_another_specialist_sees_only_their_own(app: Any, client: Any, ledger: dict[str, Any]) -> None:
    AuthActions(client).login_as(ledger["other"].user)
    lines = client.get("/specialists/me/earnings.csv").get_data(as_text=True).splitlines()
    assert lines[1:] == ["2026-11,EUR,1,120.00,0,0.00,120.00"]
    assert client.get("/specialists/me/earnings").get_data(as_text=True).count('data-testid="earnings-row"') == 1


def test_clients_admins_and_visitors_cannot(app: Any, client: Any, make_user: Any, ledger: dict[str, Any]) -> None:
    for url in ("/specialists/me/earnings", "/specialists/me/earnings.csv"):
        assert client.get(url).status_code == 302  # a visitor is sent to log in
    auth = AuthActions(client)
    for user in (ledger["client"], make_user(role=Role.ADMIN)):
        auth.login_as(user)
        for url in ("/specialists/me/earnings", "/specialists/me/earnings.csv"):
            response = client.get(url)
            assert response.status_code == 403
            assert "180" not in response.get_data(as_text=True)
        auth.logout()


def test_no_paid_sessions_yet(app: Any, client: Any, make_specialist: Any) -> None:
    AuthActions(client).login_as(make_specialist().user)
    assert "No paid sessions yet" in client.get("/specialists/me/earnings").get_data(as_text=True)
    assert client.get("/specialists/me/earnings.csv").get_data(as_text=True).splitlines() == [
        "Month,Currency,Paid sessions,Gross,Refunds,Refunded,Net"]
