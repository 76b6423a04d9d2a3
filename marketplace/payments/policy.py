"""The rules and words of paid sessions that every part of the payments domain shares."""
from __future__ import annotations

from datetime import timedelta

from marketplace.consultations.services import BookingError
from marketplace.domain import DomainError

HOLD_MINUTES = 15
# Stripe accepts expires_at 30 min to 24 h after creation; one minute of margin so network
# latency and clock skew never push it below the minimum (other providers accept it too).
CHECKOUT_LIFETIME = timedelta(minutes=31)
REFUND_NOTICE = timedelta(hours=24)

PAYMENTS_DISABLED = "Payments are not enabled"
NOT_ELIGIBLE = ("Paid sessions can be booked after a free consultation in which {name} "
                "agreed to proceed.")
NO_FEE = "{name} has not set a session fee yet, so paid sessions cannot be booked."
PROVIDER_UNAVAILABLE = ("We could not start the payment just now, so nothing was booked. "
                        "Please try again in a moment.")
HOLD_EXPIRED = "This reservation has expired because the payment was not completed. Please choose a time again."


class PaymentError(DomainError):
    """A payment rule was broken; the message is shown to the person (nothing changed)."""


class PaidBookingError(BookingError):
    """A paid session was not booked (nothing held, nothing charged). Besides the booking codes
    (``taken``, ``invalid``, ``not_bookable``) ``code`` is ``disabled`` (no payment provider),
    ``not_eligible`` (no free consultation that agreed to proceed) or ``provider`` (the provider
    failed to open the checkout)."""


class SeriesError(PaidBookingError):
    """A weekly series was not booked (nothing was), or a declined session of one cannot be paid
    now; the message says why. Codes: those of ``PaidBookingError`` (``taken`` names the
    occurrence that is not free; ``provider``: the provider could not be reached)."""
