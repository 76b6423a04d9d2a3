"""Forms of the articles domain."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.forms import clean_text


class ArticleForm(FlaskForm):
    title = StringField("Title", filters=[clean_text], validators=[DataRequired(), Length(min=5, max=200)])
    summary = TextAreaField("Summary", filters=[clean_text], validators=[DataRequired(), Length(max=400)],
                            description="One or two sentences shown in the list of articles.")
    body = TextAreaField("Article", filters=[clean_text], validators=[DataRequired(), Length(min=50, max=50000)],
                         description="Markdown: ## for headings, *italic*, **bold**, - for lists, [text](https://…) "
                                     "for links.")


class NewArticleForm(ArticleForm):
    publish = BooleanField("Publish now", description="Leave unticked to save a draft only you (and admins) can see.")
