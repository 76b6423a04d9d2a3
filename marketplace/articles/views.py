"""Views of the articles blueprint: list, detail, write, edit, publish / unpublish."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.articles import bp
from marketplace.articles.forms import ArticleForm, NewArticleForm
from marketplace.articles.models import Article, can_write_articles
from marketplace.articles.services import (
    ArticleError,
    drafts_for,
    edit_article,
    get_article_for_viewer,
    list_articles,
    set_article_published,
    write_article,
)
from marketplace.forms import required_text


def _editable_or_404(slug: str) -> Article:
    """The article for its editor; 404 if it is not visible, 403 if visible but not theirs."""
    article = get_article_for_viewer(slug, current_user) or abort(404)
    if not article.can_edit(current_user):
        abort(403)
    return article


@bp.route("")
def index() -> ResponseReturnValue:
    page = list_articles(page=request.args.get("page"))
    return render_template("articles/index.html", page=page, drafts=drafts_for(current_user),
                           can_write=can_write_articles(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    if not can_write_articles(current_user):
        abort(403)
    form = NewArticleForm()
    if form.validate_on_submit():
        try:
            article = write_article(current_user, title=required_text(form.title), summary=required_text(form.summary),
                                    body=required_text(form.body), publish=form.publish.data)
        except ArticleError as exc:
            flash(str(exc), "error")
        else:
            flash("Your article has been published." if article.published else "Your draft has been saved.", "success")
            return redirect(url_for("articles.detail", slug=article.slug))
    return render_template("articles/edit.html", form=form, article=None), 422 if form.is_submitted() else 200


@bp.route("/<slug>")
def detail(slug: str) -> ResponseReturnValue:
    article = get_article_for_viewer(slug, current_user) or abort(404)
    return render_template("articles/detail.html", article=article,
                           share_url=url_for("articles.detail", slug=article.slug, _external=True))


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> ResponseReturnValue:
    article = _editable_or_404(slug)
    form = ArticleForm(obj=article)
    if form.validate_on_submit():
        edit_article(current_user, article, title=required_text(form.title), summary=required_text(form.summary),
                     body=required_text(form.body))
        flash("Your changes have been saved.", "success")
        return redirect(url_for("articles.detail", slug=article.slug))
    return render_template("articles/edit.html", form=form, article=article), 422 if form.is_submitted() else 200


@bp.route("/<slug>/<any(publish, unpublish):action>", methods=["POST"])
@login_required
def publish(slug: str, action: str) -> ResponseReturnValue:
    article = _editable_or_404(slug)
    set_article_published(current_user, article, action == "publish")
    flash("The article is published." if article.published else "The article is unpublished (a draft again).",
          "success")
    return redirect(url_for("articles.detail", slug=article.slug))
