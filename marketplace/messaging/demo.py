"""Demo data: one conversation between the first demo client and the first specialist."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.database import utcnow
from marketplace.demo.registry import DemoContext, demo_seeder
from marketplace.extensions import db
from marketplace.messaging.models import Conversation, Message

DEMO_THREAD = [
    ("client", timedelta(days=2, hours=3),
     "Hello, I've been feeling anxious at work for a few months and I'm not sure whether therapy is "
     "the right next step. Do you work with people in that situation?"),
    ("specialist", timedelta(days=2, hours=1),
     "Hello, thank you for writing. Yes, work-related anxiety is something I often help with. A free "
     "30-minute consultation is a good way to see whether we'd work well together — there's no "
     "obligation afterwards."),
    ("client", timedelta(days=1, hours=20),
     "Thank you, that sounds helpful. I'll look at your free times and book one."),
]


@demo_seeder(order=50)
def seed_demo_conversation(ctx: DemoContext) -> None:
    """Idempotent: does nothing if the pair already has a conversation."""
    if not ctx.clients or not ctx.profiles:
        return
    client, profile = ctx.clients[0], ctx.profiles[0]
    exists = db.session.scalar(
        select(Conversation.id)
        .where(Conversation.client_id == client.id, Conversation.specialist_id == profile.user_id)
    )
    if exists is not None:
        return
    now = utcnow()
    conversation = Conversation(client_id=client.id, specialist_id=profile.user_id,
                                specialist_profile_id=profile.id, started_by_id=client.id,
                                created_at=now - DEMO_THREAD[0][1])
    db.session.add(conversation)
    for who, ago, body in DEMO_THREAD:
        sender = client.id if who == "client" else profile.user_id
        conversation.messages.append(Message(sender_id=sender, body=body, created_at=now - ago))
    db.session.flush()
    ids = [m.id for m in conversation.messages]
    conversation.last_message_at = now - DEMO_THREAD[-1][1]
    conversation.client_last_read_id = ids[-1]  # the client wrote last
    conversation.specialist_last_read_id = ids[1]  # the specialist has one unread message: shows the badge
    db.session.flush()
