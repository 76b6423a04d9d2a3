"""Periodic jobs of the payments domain (run by the job queue's scheduler)."""
from __future__ import annotations

from marketplace.database import commit
from marketplace.jobs import jobs
from marketplace.payments.services import expire_checkout_sessions, release_expired_holds


@jobs.periodic(minute="*")
def release_lapsed_holds() -> int:
    """Release paid-session holds whose payment window lapsed, then expire their Checkout Sessions."""
    released = release_expired_holds()
    commit()
    expire_checkout_sessions(released)
    return len(released)
