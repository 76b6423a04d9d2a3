from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from marketplace.forms import ZoneSelectField, clean_text


class AccountForm(FlaskForm):
    display_name = StringField("Your name", filters=[clean_text], validators=[DataRequired(), Length(max=80)])
    email = EmailField("E-mail", filters=[clean_text], validators=[DataRequired(), Email(), Length(max=254)])
    timezone = ZoneSelectField("Time zone", description="All times on Balance and in e-mails are shown in this zone.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.keep(getattr(kwargs.get("obj"), "timezone", None))


class TimezoneChoiceForm(FlaskForm):
    """The zone chooser (footer, booking pages): for visitors a cookie, for people their account."""

    timezone = ZoneSelectField("Show times in", description="Times on Balance are shown in this time zone.")
    next = HiddenField(validators=[Optional(), Length(max=2000)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters. Changing it logs you out on other devices.")
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "Passwords don't match.")])


class DeleteAccountForm(FlaskForm):
    # Its own id: the password-change form on the same page has a "password" field too.
    password = PasswordField("Your password", id="delete-password", validators=[DataRequired(), Length(max=256)])
