"""The one pure function of cancellation terms: every preset at several times before the start,
including exactly at the notice (late: the notice must be MORE than N hours)."""
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from marketplace.scheduling.cancellation import (
    FREE_NOTICE_CHOICES,
    PAID_NOTICE_CHOICES,
    CancellationTerms,
    LateRefund,
    describe_free_terms,
    describe_paid_terms,
    free_consequence,
    no_show_consequence,
    paid_consequence,
    refund_amount,
)

START = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
FEE = 8000  # €80


def _paid(notice: int, late_refund: LateRefund, before: timedelta, *, by_client: bool = True):
    return paid_consequence(CancellationTerms(notice, late_refund), by_client=by_client, now=START - before,
                            start_utc=START, amount_minor=FEE, currency="EUR")


LATE_REFUNDS = {LateRefund.FULL: FEE, LateRefund.HALF: FEE // 2, LateRefund.NONE: 0}


@pytest.mark.parametrize("notice", PAID_NOTICE_CHOICES)
@pytest.mark.parametrize("late_refund", list(LateRefund))
@pytest.mark.parametrize("hours_before, late", [
    (200, False), ("notice+1s", False), ("notice", True), ("notice-1s", True), (1, True), (0.01, True),
])
def test_paid_session_cancelled_by_the_client(notice, late_refund, hours_before, late):
    before = {"notice+1s": timedelta(hours=notice, seconds=1), "notice": timedelta(hours=notice),
              "notice-1s": timedelta(hours=notice, seconds=-1)}.get(hours_before) \
        if isinstance(hours_before, str) else timedelta(hours=hours_before)
    consequence = _paid(notice, late_refund, before)
    assert consequence.late is late
    expected = LATE_REFUNDS[late_refund] if late else FEE
    assert consequence.refund_minor == expected
    assert consequence.refund_fraction == (late_refund.fraction if late else Fraction(1))
    assert consequence.refundable is (expected > 0)
    if not late:
        assert consequence.words == (f"Cancelling now refunds €80 of €80 (full refund), because it is "
                                     f"more than {notice} hours before the start.")
    elif late_refund is LateRefund.HALF:
        assert consequence.words == (f"Cancelling now refunds €40 of €80 (half refund), because it is "
                                     f"less than {notice} hours before the start.")
    elif late_refund is LateRefund.NONE:
        assert consequence.words == (f"If you cancel now, the €80 you paid will not be refunded, because it "
                                     f"is less than {notice} hours before the start.")


@pytest.mark.parametrize("notice", PAID_NOTICE_CHOICES)
@pytest.mark.parametrize("late_refund", list(LateRefund))
@pytest.mark.parametrize("hours_before", [200, 48, 1, 0.01])
def test_the_specialist_cancelling_always_refunds_in_full(notice, late_refund, hours_before):
    consequence = _paid(notice, late_refund, timedelta(hours=hours_before), by_client=False)
    assert not consequence.late and consequence.refund_minor == FEE
    assert consequence.words == "If you cancel, the client gets a full refund of €80."


@pytest.mark.parametrize("notice", FREE_NOTICE_CHOICES)
@pytest.mark.parametrize("before, late_if_notice", [
    (timedelta(hours=30), False), (timedelta(hours=24, seconds=1), False), (timedelta(hours=24), "24"),
    (timedelta(hours=12, seconds=1), "24"), (timedelta(hours=12), "any"), (timedelta(minutes=5), "any"),
])
def test_free_consultation_cancelled_by_the_client(notice, before, late_if_notice):
    consequence = free_consequence(CancellationTerms(notice), by_client=True, now=START - before,
                                   start_utc=START, specialist_name="Dr Ana")
    late = notice > 0 and (late_if_notice == "any" or (late_if_notice == "24" and notice == 24))
    assert consequence.late is late
    assert consequence.refund_minor is None and consequence.refund_fraction == 0
    if late:
        assert "counts as a late cancellation" in consequence.words
        assert f"less than {notice} hours" in consequence.words and "Dr Ana" in consequence.words
    else:
        assert consequence.words.startswith("You can cancel free of charge.")


def test_free_consultation_cancelled_by_the_specialist_is_never_late():
    consequence = free_consequence(CancellationTerms(24), by_client=False, now=START - timedelta(minutes=5),
                                   start_utc=START, specialist_name="Dr Ana")
    assert not consequence.late


@pytest.mark.parametrize("late_refund, refund", [(LateRefund.FULL, FEE), (LateRefund.HALF, 4000),
                                                 (LateRefund.NONE, 0)])
def test_a_no_show_gets_the_late_term(late_refund, refund):
    consequence = no_show_consequence(CancellationTerms(48, late_refund), amount_minor=FEE, currency="EUR")
    assert consequence.late and consequence.refund_minor == refund


def test_half_of_an_odd_amount_rounds_in_the_clients_favour():
    assert refund_amount(8001, Fraction(1, 2)) == 4001
    assert refund_amount(8000, Fraction(1, 2)) == 4000
    assert refund_amount(8000, Fraction(0)) == 0


def test_the_key_tells_consequences_apart():
    on_time = _paid(48, LateRefund.HALF, timedelta(hours=49))
    late = _paid(48, LateRefund.HALF, timedelta(hours=47))
    assert on_time.key != late.key and late.key == _paid(48, LateRefund.HALF, timedelta(hours=2)).key


def test_terms_in_plain_words_before_booking():
    assert describe_free_terms(CancellationTerms(0), "Dr Ana") == "You can cancel at any time before the start."
    assert "at least 12 hours before the start" in describe_free_terms(CancellationTerms(12), "Dr Ana")
    assert describe_paid_terms(CancellationTerms(48, LateRefund.HALF), FEE, "EUR") == (
        "Cancel more than 48 hours before the start for a full refund. If you cancel later or miss the "
        "session, you get half of the fee back (€40).")
    assert "not refunded" in describe_paid_terms(CancellationTerms(24, LateRefund.NONE), FEE, "EUR")
    assert "refunded in full too" in describe_paid_terms(CancellationTerms(72, LateRefund.FULL), FEE, "EUR")
