"""Contact us form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.contact.models import MAX_BODY_LENGTH, MAX_SUBJECT_LENGTH
from marketplace.forms import clean_text, unix_newlines

BODY_TOO_LONG = f"Your message is too long. The limit is {MAX_BODY_LENGTH:,} characters."


class ContactForm(FlaskForm):
    subject = StringField("Subject", filters=[clean_text],
                          validators=[DataRequired("Add a subject."),
                                      Length(max=MAX_SUBJECT_LENGTH,
                                             message=f"Keep the subject under {MAX_SUBJECT_LENGTH} characters.")])
    body = TextAreaField("Message", filters=[unix_newlines, clean_text],
                         validators=[DataRequired("Write a message before sending."),
                                     Length(max=MAX_BODY_LENGTH, message=BODY_TOO_LONG)],
                         description="We usually reply by e-mail within two working days.")
