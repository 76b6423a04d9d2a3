"""Forms of the payments domain."""
from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import InputRequired

from marketplace.consultations.services import parse_slot


class PaidBookingForm(FlaskForm):
    """Choose a slot (and a format) for a paid session.

    The slot value is the consultations domain's slot string (``format_slot``); the service
    re-checks it against the slot engine, so a forged value is refused there.
    """

    slot = RadioField("Choose a time", validators=[InputRequired(message="Please choose a time.")],
                      validate_choice=False)
    format = RadioField("How would you like to meet?",
                        validators=[InputRequired(message="Choose how you would like to meet.")])

    def set_formats(self, formats: list[tuple[str, str]]) -> None:
        self.format.choices = formats
        if len(formats) == 1 and not self.format.data:
            self.format.data = formats[0][0]

    @property
    def start_utc(self) -> datetime | None:
        return parse_slot(self.slot.data)


class SeriesBookingForm(PaidBookingForm):
    """A paid session plus how many weekly sessions (the first one included) to book."""

    sessions = SelectField("How many weekly sessions?", coerce=int,
                           choices=[SelectChoice(n, f"{n} sessions") for n in range(2, 13)],
                           validators=[InputRequired(message="Choose how many sessions.")],
                           default=4)
