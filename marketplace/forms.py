"""Form pieces shared across blueprints."""
from __future__ import annotations

from typing import Any

from wtforms import Field, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import ValidationError

from marketplace.text import strip_control_chars
from marketplace.timeutil import is_valid_timezone


def clean_text(value: Any) -> Any:
    """Filter for every free-text field: strip surrounding space and control characters."""
    if isinstance(value, str):
        return strip_control_chars(value).strip()
    return value


class ValidTimezone:
    message = "Choose a valid time zone."

    def __call__(self, form: Any, field: Field) -> None:
        if field.data and not is_valid_timezone(field.data):
            raise ValidationError(self.message)


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
