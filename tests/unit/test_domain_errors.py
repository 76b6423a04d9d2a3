"""One error convention: every exception a domain service raises to refuse an action is a
``DomainError`` (message safe to show, a code, maybe a field). Private signals (``_Name``) stay
inside their module."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import marketplace
from marketplace.consultations import booking
from marketplace.domain import DomainError
from marketplace.payments import checkout
from marketplace.payments.policy import PaidBookingError, PaymentError

DOMAINS = ("account", "admin", "articles", "auth", "clients", "consultations", "contact", "featured", "main",
           "messaging", "payments", "questions", "specialists")


def _domain_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(marketplace.__path__, "marketplace."):
        if info.name.split(".")[1] not in DOMAINS:
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == info.name and not name.startswith("_"):
                found[f"{info.name}.{name}"] = cls
    return found


def test_every_public_domain_exception_is_a_domain_error():
    found = _domain_exceptions()
    assert len(found) >= 10, found  # the walk found the domains' errors
    assert not [name for name, cls in found.items() if not issubclass(cls, DomainError)]


def test_a_domain_error_carries_message_code_and_field():
    error = DomainError("Choose a time.", code="invalid", field="slot")
    assert (str(error), error.message, error.code, error.field) == ("Choose a time.", "Choose a time.", "invalid", "slot")
    assert DomainError("No.").code == "refused"


def test_bookings_refuse_with_domain_errors_not_result_objects():
    """Booking, rescheduling and paid booking raise ``BookingError`` (paid: its subclass) with the
    codes the views map to a status; no result objects with string codes remain."""
    found = _domain_exceptions()
    assert found["marketplace.consultations.booking.BookingError"] is booking.BookingError
    assert issubclass(booking.BookingError, DomainError) and issubclass(PaidBookingError, booking.BookingError)
    assert not issubclass(PaidBookingError, PaymentError)  # refused bookings, not failed payments
    assert PaidBookingError("Payments are not enabled", "disabled").code == "disabled"
    assert not hasattr(booking, "BookingResult") and not hasattr(checkout, "PaidBookingResult")
