from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from marketplace.clients.models import NOTE_MAX_LENGTH
from marketplace.forms import clean_text


class ClientNoteForm(FlaskForm):
    note = TextAreaField(
        "Private note", filters=[clean_text],
        validators=[Length(max=NOTE_MAX_LENGTH,
                           message=f"The note is too long: at most {NOTE_MAX_LENGTH:,} characters.")],
        description=f"Only you can read it; it is stored encrypted. At most {NOTE_MAX_LENGTH:,} characters. "
                    "Save it empty to remove it.")
