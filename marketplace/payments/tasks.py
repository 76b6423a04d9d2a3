"""Periodic jobs of the payments domain (run by the job queue's scheduler)."""
from __future__ import annotations

from marketplace.database import commit
from marketplace.jobs import jobs
from marketplace.payments.series_charges import charge_due_occurrences, release_unpaid_occurrences
from marketplace.payments.services import expire_checkouts, release_expired_holds


@jobs.periodic(minute="*")
def release_lapsed_holds() -> int:
    """Release paid-session holds whose payment window lapsed, then expire their checkouts."""
    return release_and_expire()[0]


def release_and_expire() -> tuple[int, int]:
    """Release lapsed holds (committed first: the slots are free whatever the provider says), then
    expire their checkouts at the provider. Idempotent and safe concurrently; returns both counts."""
    released = release_expired_holds()
    commit()
    return len(released), expire_checkouts(released)


@jobs.periodic(minute="*/5")
def charge_series_occurrences() -> int:
    """Weekly series: charge each occurrence off-session 24 hours before it (each exactly once),
    then release occurrences whose declined charge is still unpaid after the grace period."""
    charged = charge_due_occurrences()
    release_unpaid_occurrences()
    commit()
    return charged
