"""Messages: inbox, thread (participants only), new message to a specialist (or a client)."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.auth.confirmation import MESSAGE
from marketplace.auth.gate import confirmed_email_required
from marketplace.database import database_id, writes_on_get
from marketplace.extensions import limiter
from marketplace.forms import MESSAGE_SENT, required_text
from marketplace.messaging import bp
from marketplace.messaging.forms import MessageForm
from marketplace.messaging.services import (
    MessagingError,
    client_standing_in,
    get_conversation_for,
    list_conversations,
    mark_conversation_read,
    read_receipt_message_id,
    resolve_new_conversation,
    send_message,
    start_conversation,
    unread_count,
)
from marketplace.parts import HEADER, page_parts
from marketplace.security import PROMPT_MESSAGE, account_key, login_required_with_prompt

SEND_LIMIT = "20 per minute"


@page_parts.register(HEADER, "unread_messages")
def _unread_messages(user: Any, **_: Any) -> int:
    """The header's unread badge on every page (``_person.html``)."""
    return unread_count(user)


@bp.route("")
@login_required_with_prompt(PROMPT_MESSAGE)
def inbox() -> ResponseReturnValue:
    return render_template("messaging/inbox.html", summaries=list_conversations(current_user))


@bp.route("/<int:conversation_id>", methods=["GET", "POST"])
@writes_on_get  # a GET marks the messages read
@login_required_with_prompt(PROMPT_MESSAGE)
@confirmed_email_required(MESSAGE)
@limiter.limit(SEND_LIMIT, methods=["POST"], key_func=account_key)
def thread(conversation_id: int) -> ResponseReturnValue:
    conversation = get_conversation_for(current_user, conversation_id)
    form = MessageForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            send_message(conversation, current_user, required_text(form.body))
        except MessagingError as exc:
            flash(str(exc), "error")
            status = exc.status
        else:
            flash(MESSAGE_SENT, "success")
            return redirect(url_for("messaging.thread", conversation_id=conversation.id, _anchor="latest"))
    mark_conversation_read(conversation, current_user)
    return render_template("messaging/thread.html", conversation=conversation, form=form,
                           standing=client_standing_in(conversation, current_user),
                           read_id=read_receipt_message_id(conversation, current_user)), status


@bp.route("/new", methods=["GET", "POST"])
@login_required_with_prompt(PROMPT_MESSAGE)
@confirmed_email_required(MESSAGE)
@limiter.limit(SEND_LIMIT, methods=["POST"], key_func=account_key)
def new() -> ResponseReturnValue:
    try:
        target = resolve_new_conversation(current_user, to_slug=request.args.get("to"),
                                          client_id=request.args.get("client", type=database_id))
        if target.existing and request.method == "GET":
            return redirect(url_for("messaging.thread", conversation_id=target.existing.id, _anchor="reply"))
        form = MessageForm()
        if form.validate_on_submit():
            conversation = start_conversation(current_user, target, required_text(form.body))
            flash(MESSAGE_SENT, "success")
            return redirect(url_for("messaging.thread", conversation_id=conversation.id, _anchor="latest"))
    except MessagingError as exc:
        return render_template("messaging/not_allowed.html", reason=str(exc)), exc.status
    return render_template("messaging/new.html", form=form, target=target), 422 if form.errors else 200
