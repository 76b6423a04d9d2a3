"""Forms of the admin area."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; types-WTForms is 3.2
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from marketplace.admin.services import AuditFilters
from marketplace.forms import choices, clean_text


class AuditFilterForm(FlaskForm):
    """GET filters of the audit log (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    action = SelectField("Action", choices=[], validate_choice=False, validators=[Optional(), Length(max=64)])
    actor = StringField("Actor", filters=[clean_text], validators=[Optional(), Length(max=254)],
                        description="Part of an e-mail or name, or #id.")
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])

    def __init__(self, actions: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = [SelectChoice("", "Any action")] + [SelectChoice(a, a) for a in actions]

    def validate_date_to(self, field: Any) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("“To” must be on or after “From”.")

    def filters(self) -> AuditFilters:
        """The valid filters (invalid fields are ignored and show their error)."""
        ok = {name: not self[name].errors for name in ("action", "actor", "date_from", "date_to")}
        return AuditFilters(
            action=(self.action.data or "") if ok["action"] else "",
            actor=(self.actor.data or "") if ok["actor"] else "",
            date_from=self.date_from.data if ok["date_from"] and ok["date_to"] else None,
            date_to=self.date_to.data if ok["date_to"] else None,
        )


class RevokeLicenceForm(FlaskForm):
    """Withdraw a verification: the reason (sent to the specialist) and what happens to the
    consultations already booked with them."""

    reason = TextAreaField("Reason (sent to the specialist)", filters=[clean_text],
                           validators=[DataRequired(message="Please give a reason."), Length(max=500)])
    consultations = RadioField("Their upcoming consultations", choices=choices([
        ("keep", "Keep them (the clients meet the specialist as planned)"),
        ("cancel", "Cancel them and tell each client"),
    ]), validators=[DataRequired(message="Choose what happens to the booked consultations.")])
