"""Form pieces shared across blueprints."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import DataRequired, ValidationError

from marketplace.text import strip_control_chars
from marketplace.timeutil import canonical_timezone, is_valid_timezone, readable_timezone, zone_choices


class ActionForm(FlaskForm):
    """No fields: carries the CSRF token of a POST-only action (log out, publish, confirm, approve, …)."""


def clean_text(value: Any) -> Any:
    """Filter for every free-text field: strip surrounding space and control characters."""
    if isinstance(value, str):
        return strip_control_chars(value).strip()
    return value


def unix_newlines(value: object) -> object:
    """Browsers send textarea newlines as CRLF; count and store them as one character."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


# What a person is told once a message of theirs (to a specialist, to Balance) is on its way.
MESSAGE_SENT = "Your message has been sent"


class ValidTimezone:
    message = "Choose a valid time zone."

    def __call__(self, form: Any, field: Field) -> None:
        if field.data and not is_valid_timezone(field.data):
            raise ValidationError(self.message)


UNKNOWN_ZONE = "Choose a time zone from the list (a region and a city, e.g. Europe/Berlin)."


class ZoneSelectField(SelectField):
    """The one time zone select: the curated zones grouped by region (optgroups) with their current
    offsets. A stored alias shows as its canonical zone; a stored zone outside the list (still a
    zone) is offered too, so saving a form never changes it silently. Anything else is refused
    with ``UNKNOWN_ZONE``."""

    def __init__(self, label: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [DataRequired(message=UNKNOWN_ZONE)])
        super().__init__(label, validate_choice=False, **kwargs)
        self.choices = zone_choices()

    def process_data(self, value: Any) -> None:
        super().process_data(readable_timezone(value) or value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        self.data = canonical_timezone(self.data) or self.data  # a posted alias is saved as its zone

    def keep(self, stored: str | None) -> None:
        """Also offer ``stored`` (the saved setting) when it is a zone outside the curated list."""
        self.choices = zone_choices(current=readable_timezone(stored))

    def pre_validate(self, form: Any) -> None:
        if not self.data:
            return
        allowed = {value for options in self.choices.values() for value, _label in options}  # type: ignore[union-attr]
        if self.data not in allowed and canonical_timezone(self.data) is None:
            raise ValidationError(UNKNOWN_ZONE)


def required_text(field: StringField) -> str:
    """The text of a field that requires one (``DataRequired``, ``AnyOf``…), once its form validated.

    WTForms types ``StringField.data`` as ``str | None`` (``None`` before any input); a validated
    required field holds a ``str``.
    """
    assert field.data is not None, f"{field.name}: read before the form validated"
    return field.data


def choices(pairs: Any, blank: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices, optionally after a blank "any"/"choose" option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(value, label) for value, label in pairs]
