from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from marketplace.auth.models import Role
from marketplace.forms import ValidTimezone, clean_text

CLIENT_NAME_HELP = ("Shown to specialists you contact, and with questions you ask unless you ask anonymously. "
                    "A first name is enough.")
SPECIALIST_NAME_HELP = ("Shown on your public profile, with your answers and to clients you talk to: "
                        "the name clients know you by, e.g. “Dr Anna Weber”.")


class SignupForm(FlaskForm):
    display_name = StringField("Your name", filters=[clean_text],
                               validators=[DataRequired(), Length(max=80)],
                               description=CLIENT_NAME_HELP)
    email = EmailField("E-mail", filters=[clean_text], validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             description="At least 10 characters. Avoid common passwords.")
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords don't match.")])
    timezone = HiddenField(validators=[Optional(), ValidTimezone()])
    next = HiddenField()

    def for_role(self, role: Role) -> None:
        """The specialist sign-up explains the name as a specialist's (public) name."""
        if role is Role.SPECIALIST:
            self.display_name.description = SPECIALIST_NAME_HELP


class LoginForm(FlaskForm):
    email = EmailField("E-mail", filters=[clean_text], validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class ResetRequestForm(FlaskForm):
    email = EmailField("E-mail", filters=[clean_text], validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "Passwords don't match.")])


class ResendConfirmationForm(FlaskForm):
    """"Send the link again": CSRF token and where to come back to (a local path, checked)."""

    next = HiddenField()


class ConfirmEmailForm(FlaskForm):
    """Empty form: the confirmation link's page confirms with a POST (mail scanners only GET)."""
