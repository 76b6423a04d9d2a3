"""Forms of the questions domain."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from marketplace.forms import choices, clean_text

if TYPE_CHECKING:
    from marketplace.specialists.models import Specialty


class QuestionForm(FlaskForm):
    title = StringField("Your question", filters=[clean_text], validators=[DataRequired(), Length(min=10, max=200)],
                        description="One sentence, e.g. “How do I know if I need therapy?”")
    topic = SelectField("Topic", coerce=int, validators=[InputRequired(message="Choose a topic.")])
    body = TextAreaField("Details", filters=[clean_text], validators=[DataRequired(), Length(min=20, max=5000)],
                         description="Describe your situation. Please don't include information that identifies "
                                     "you or others. You can use Markdown.")
    anonymous = BooleanField("Ask anonymously",
                             description="Your name is never shown with this question; it appears as “Anonymous”.")

    def __init__(self, *args: Any, topics: Iterable[Specialty] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic.choices = choices([(-1, "Choose a topic…")] + [(t.id, t.label) for t in topics])

    def validate_topic(self, field: Field) -> None:
        if field.data is None or field.data < 0:
            raise ValidationError("Choose a topic.")


class AnswerForm(FlaskForm):
    body = TextAreaField("Your answer", filters=[clean_text], validators=[DataRequired(), Length(min=20, max=8000)],
                         description="Answer in general terms and invite the person to a free consultation if "
                                     "that would help. You can use Markdown.")


class ReportForm(FlaskForm):
    reason = SelectField("Reason", validators=[DataRequired()])

    def __init__(self, *args: Any, reasons: Iterable[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = choices(reasons)
