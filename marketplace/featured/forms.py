"""Forms of the featured domain (admin campaign management)."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Regexp, ValidationError

from marketplace.forms import clean_text, required_text


class CampaignForm(FlaskForm):
    name = StringField("Campaign name", filters=[clean_text], validators=[DataRequired(), Length(max=120)])
    starts_on = DateField("First day", validators=[InputRequired(message="Enter the first day.")],
                          description="Dates are calendar days in UTC; both days are included.")
    ends_on = DateField("Last day", validators=[InputRequired(message="Enter the last day.")])
    active = BooleanField("Active", default=True,
                          description="Only an active campaign whose dates include today features anyone.")

    def validate_ends_on(self, field: Any) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError("The last day must be on or after the first day.")

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data, "starts_on": self.starts_on.data, "ends_on": self.ends_on.data,
                "active": bool(self.active.data)}


class FeatureForm(FlaskForm):
    """Add one specialist (by profile id) to a campaign."""

    profile_id = IntegerField("Specialist", validators=[InputRequired(message="Choose a specialist."),
                                                         NumberRange(min=1, max=2**31 - 1, message="Choose a specialist.")])


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"], message="Choose to move up or down.")])


class ReorderForm(FlaskForm):
    """Entry ids in their new order, comma-separated (sent by the drag-and-drop enhancement)."""

    order = HiddenField(validators=[DataRequired(), Length(max=4000),
                                    Regexp(r"^\d+(,\d+)*$", message="The order was not understood.")])

    def entry_ids(self) -> list[int]:
        return [int(part) for part in required_text(self.order).split(",")]
