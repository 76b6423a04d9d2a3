"""Views of the questions blueprint: list, ask, detail with answers, report."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from marketplace.auth.confirmation import ASK
from marketplace.auth.gate import confirmed_email_required
from marketplace.extensions import limiter
from marketplace.forms import required_text
from marketplace.questions import bp
from marketplace.questions.forms import AnswerForm, QuestionForm, ReportForm
from marketplace.questions.models import Question
from marketplace.questions.services import (
    REPORT_REASONS,
    QuestionError,
    answer_question,
    answering_profile,
    ask_question,
    ask_question_refusal,
    get_question_for_viewer,
    list_questions,
    own_answer,
    question_url,
    report_content,
    topics,
)
from marketplace.security import PROMPT_QUESTION, login_required_with_prompt, safe_next

ASK_LIMIT = "5 per hour;20 per day"
ANSWER_LIMIT = "20 per hour"
REPORT_LIMIT = "30 per hour"


def _per_user() -> str:
    """Rate-limit logged-in people per account (not per shared IP address)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


@bp.route("")
def index() -> ResponseReturnValue:
    topic = request.args.get("topic") or None
    search = (request.args.get("q") or "").strip()
    page = list_questions(topic=topic, search=search, page=request.args.get("page"))
    return render_template("questions/index.html", page=page, topics=topics(), topic=topic, search=search)


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(ASK_LIMIT, methods=["POST"], key_func=_per_user)
@login_required_with_prompt(PROMPT_QUESTION)
@confirmed_email_required(ASK)
def new() -> ResponseReturnValue:
    refusal = ask_question_refusal(current_user)
    if refusal:
        return render_template("questions/new.html", form=None, refusal=refusal), 403
    form = QuestionForm(topics=topics())
    if form.validate_on_submit():
        try:
            question = ask_question(current_user, title=required_text(form.title), body=required_text(form.body),
                                    topic_id=form.topic.data, anonymous=form.anonymous.data)
        except QuestionError as exc:
            flash(str(exc), "error")
        else:
            flash("Your question has been published. Specialists can now answer it.", "success")
            return redirect(question_url(question))
    return render_template("questions/new.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/<int:question_id>")
@bp.route("/<int:question_id>-<slug>")
def detail(question_id: int, slug: str | None = None) -> ResponseReturnValue:
    question = get_question_for_viewer(question_id, current_user) or abort(404)
    if slug != question.slug:
        return redirect(question_url(question), 301)
    return _render_detail(question)


@bp.route("/<int:question_id>/answers", methods=["POST"])
@limiter.limit(ANSWER_LIMIT, key_func=_per_user)
@login_required
def answer(question_id: int) -> ResponseReturnValue:
    question = get_question_for_viewer(question_id, current_user) or abort(404)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _render_detail(question, answer_form=form, status=422)
    try:
        answered = answer_question(current_user, question, body=required_text(form.body))
    except QuestionError as exc:
        flash(str(exc), "error")
        return _render_detail(question, status=403)
    flash("Your answer has been updated." if answered.edited else "Your answer has been published.", "success")
    return redirect(question_url(question))


@bp.route("/report/<any(question, answer):target_type>/<int:target_id>", methods=["POST"])
@limiter.limit(REPORT_LIMIT, key_func=_per_user)
@login_required
def report(target_type: str, target_id: int) -> ResponseReturnValue:
    form = ReportForm(reasons=REPORT_REASONS)
    back = safe_next(request.form.get("next"), "questions.index")
    if not form.validate_on_submit():
        flash("Choose a reason for the report.", "error")
        return redirect(back)
    try:
        report_content(current_user, target_type, target_id, reason=form.reason.data)
    except QuestionError as exc:
        flash(str(exc), "error")
    else:
        flash("Thank you for the report. A moderator will review it.", "success")
    return redirect(back)


def _render_detail(question: Question, *, answer_form: AnswerForm | None = None, status: int = 200) -> Any:
    can_answer = answering_profile(current_user) is not None and not question.hidden
    mine = own_answer(current_user, question) if can_answer else None
    if answer_form is None and can_answer and not (mine and mine.hidden):
        answer_form = AnswerForm(body=mine.body) if mine is not None else AnswerForm()
    return render_template(
        "questions/detail.html",
        question=question,
        answers=question.visible_answers(current_user),
        answer_form=answer_form,
        own_answer=mine,
        share_url=question_url(question, _external=True),
        report_reasons=REPORT_REASONS,
    ), status
