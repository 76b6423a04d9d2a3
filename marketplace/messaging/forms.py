"""Messaging forms: one text field, plain text only."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.forms import clean_text, unix_newlines
from marketplace.messaging.models import MAX_MESSAGE_LENGTH


class MessageForm(FlaskForm):
    body = TextAreaField(
        "Your message",
        filters=[unix_newlines, clean_text],
        validators=[
            DataRequired("Write a message before sending."),
            Length(max=MAX_MESSAGE_LENGTH,
                   message=f"Your message is too long. The limit is {MAX_MESSAGE_LENGTH:,} characters."),
        ],
        description=f"Plain text, up to {MAX_MESSAGE_LENGTH:,} characters. Please don't share anything "
                    "you wouldn't want to write in an e-mail; we never include messages in notifications.",
    )
