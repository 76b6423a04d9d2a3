"""Articles: who may write and edit, drafts and publishing, author card, share links, XSS, queries."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.articles.models import Article
from marketplace.audit import AuditEntry
from marketplace.auth.models import Role
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.specialists.models import VerificationStatus
from tests.integration.test_questions import assert_inert, count, sign_in, sign_out

BODY = "Starting therapy is a step. " * 5


def make_article(author, *, title="Finding calm in a busy week", slug=None, published=True, body=BODY,
                 summary="Small, practical habits.") -> Article:
    from marketplace.text import slugify

    article = Article(author_id=author.id, title=title, slug=slug or slugify(title), summary=summary, body=body,
                      published=published, published_at=utcnow() if published else None)
    db.session.add(article)
    db.session.commit()
    return article


def article_data(**overrides):
    data = {"title": "Why a first conversation helps", "summary": "What a free consultation can do.",
            "body": BODY, "publish": "y"}
    data.update(overrides)
    return data


@pytest.fixture
def admin(make_user):
    return make_user(role=Role.ADMIN)


@pytest.fixture
def author(make_specialist):
    return make_specialist(display_name="Dr Wren Writer", title="Counselling psychologist")


# --- permissions ----------------------------------------------------------------------------

def test_visitor_is_sent_to_login(client):
    response = client.get("/articles/new")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("who", ["client", "unverified", "pending", "rejected"])
def test_clients_and_unverified_specialists_cannot_write(client, make_user, make_specialist, who):
    if who == "client":
        user = make_user()
    else:
        status = {"unverified": VerificationStatus.UNSUBMITTED, "pending": VerificationStatus.PENDING,
                  "rejected": VerificationStatus.REJECTED}[who]
        user = make_specialist(verification_status=status).user
    sign_in(client, user)
    assert client.get("/articles/new").status_code == 403
    assert client.post("/articles/new", data=article_data()).status_code == 403
    assert count(Article) == 0
    assert "Write an article" not in client.get("/articles").get_data(as_text=True)


def test_verified_specialist_writes_article_with_author_card(client, author):
    sign_in(client, author.user)
    assert "Write an article" in client.get("/articles").get_data(as_text=True)
    response = client.post("/articles/new", data=article_data())
    assert response.status_code == 302
    article = db.session.scalar(select(Article))
    assert article.author_id == author.user_id and article.published and article.published_at is not None
    assert response.headers["Location"].endswith(f"/articles/{article.slug}")
    assert count(AuditEntry, AuditEntry.action == "article.published") == 1
    sign_out(client)

    page = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert "Why a first conversation helps" in page
    assert "Dr Wren Writer" in page and "Counselling psychologist" in page
    assert f'href="/specialists/{author.slug}"' in page
    assert f'href="/specialists/{author.slug}/book"' in page and "Book a free consultation" in page
    assert "Share on other sites" in page
    assert "mailto:?subject=" in page and "http%3A//localhost/articles/" in page.replace("%3A%2F%2F", "%3A//")
    assert "Copy link" in page


def test_admin_article_has_editorial_card(client, admin):
    sign_in(client, admin)
    client.post("/articles/new", data=article_data(title="Editorial: how Balance works"))
    sign_out(client)
    article = db.session.scalar(select(Article))
    page = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert "Balance editorial team" in page
    assert 'href="/specialists?free=1"' in page and "Book a free consultation" in page


def test_author_cannot_edit_someone_elses_article(client, author, make_specialist, admin):
    article = make_article(author.user)
    other = make_specialist()
    sign_in(client, other.user)
    assert client.get(f"/articles/{article.slug}/edit").status_code == 403
    response = client.post(f"/articles/{article.slug}/edit", data=article_data(title="Hijacked title"))
    assert response.status_code == 403
    assert client.post(f"/articles/{article.slug}/unpublish").status_code == 403
    db.session.refresh(article)
    assert article.title == "Finding calm in a busy week" and article.published
    sign_out(client)

    sign_in(client, author.user)
    response = client.post(f"/articles/{article.slug}/edit", data=article_data(title="Finding calm, revised"))
    assert response.status_code == 302
    db.session.refresh(article)
    assert article.title == "Finding calm, revised" and article.slug == "finding-calm-in-a-busy-week"
    sign_out(client)

    sign_in(client, admin)
    assert client.post(f"/articles/{article.slug}/edit", data=article_data(title="Edited by admin")).status_code == 302
    db.session.refresh(article)
    assert article.title == "Edited by admin"


def test_specialist_who_loses_verification_can_no_longer_edit(client, author):
    article = make_article(author.user)
    author.verification_status = VerificationStatus.REJECTED
    db.session.commit()
    sign_in(client, author.user)
    assert client.get(f"/articles/{article.slug}/edit").status_code == 403


def test_invalid_article_changes_nothing(client, author):
    sign_in(client, author.user)
    response = client.post("/articles/new", data=article_data(title="", body="short"))
    assert response.status_code == 422
    assert count(Article) == 0


# --- drafts, publishing, lists --------------------------------------------------------------

def test_drafts_are_private_until_published(client, author, make_specialist, make_user, admin):
    sign_in(client, author.user)
    client.post("/articles/new", data=article_data(publish=""))
    article = db.session.scalar(select(Article))
    assert not article.published and article.published_at is None
    assert client.get(f"/articles/{article.slug}").status_code == 200
    assert "Your drafts" in client.get("/articles").get_data(as_text=True)
    sign_out(client)

    for viewer in (None, make_user(), make_specialist().user):
        if viewer:
            sign_in(client, viewer)
        assert client.get(f"/articles/{article.slug}").status_code == 404
        assert client.get(f"/articles/{article.slug}/edit").status_code in (302, 404)
        assert "Why a first conversation helps" not in client.get("/articles").get_data(as_text=True)
        assert "Why a first conversation helps" not in client.get("/").get_data(as_text=True)
        if viewer:
            sign_out(client)

    sign_in(client, admin)
    assert "Why a first conversation helps" in client.get("/articles").get_data(as_text=True)  # admin's drafts list
    sign_out(client)
    sign_in(client, author.user)
    client.post(f"/articles/{article.slug}/publish")
    db.session.refresh(article)
    assert article.published and article.published_at is not None
    sign_out(client)
    assert "Why a first conversation helps" in client.get("/articles").get_data(as_text=True)
    assert "Why a first conversation helps" in client.get("/").get_data(as_text=True)

    sign_in(client, author.user)
    client.post(f"/articles/{article.slug}/unpublish")
    db.session.refresh(article)
    assert not article.published
    assert count(AuditEntry, AuditEntry.action == "article.unpublished") == 1
    sign_out(client)
    assert client.get(f"/articles/{article.slug}").status_code == 404


def test_list_is_newest_first_and_paginated(client, admin):
    from datetime import timedelta

    for i in range(14):
        article = make_article(admin, title=f"Numbered article {i:02d}")
        article.published_at = utcnow() - timedelta(days=30 - i)
    db.session.commit()
    first = client.get("/articles").get_data(as_text=True)
    assert first.index("Numbered article 13") < first.index("Numbered article 12")
    assert "Numbered article 01" not in first
    assert "Numbered article 01" in client.get("/articles?page=2").get_data(as_text=True)


def test_article_list_query_count_is_constant(client, count_queries, admin, make_specialist):
    writers = [admin] + [make_specialist().user for _ in range(3)]
    for i in range(3):
        make_article(writers[i % 4], title=f"Small set {i}")
    with count_queries() as small:
        client.get("/articles")
    for i in range(20):
        make_article(writers[i % 4], title=f"Large set {i}")
    with count_queries() as large:
        client.get("/articles")
    assert small.count == large.count, large.statements


def test_new_slug_is_unique_and_not_reserved(client, admin):
    sign_in(client, admin)
    client.post("/articles/new", data=article_data(title="Same title twice"))
    client.post("/articles/new", data=article_data(title="Same title twice"))
    client.post("/articles/new", data=article_data(title="New ???"))
    slugs = set(db.session.scalars(select(Article.slug)))
    assert slugs == {"same-title-twice", "same-title-twice-2", "new-article"}


# --- XSS, deletion, demo --------------------------------------------------------------------

def test_xss_payloads_in_articles_are_inert(client, author):
    sign_in(client, author.user)
    payload = ('<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) '
               '<a href="javascript:alert(4)" onmouseover="alert(5)">y</a>')
    client.post("/articles/new", data=article_data(title='<script>alert("t")</script> Title',
                                                   summary='"><img src=x onerror=alert(6)>',
                                                   body=payload + "\n\n" + BODY))
    article = db.session.scalar(select(Article))
    assert article is not None
    for url in ("/articles", f"/articles/{article.slug}", "/", f"/articles/{article.slug}/edit"):
        assert_inert(client.get(url).get_data(as_text=True))


def test_deleted_authors_articles_are_unpublished(client, author):
    from marketplace.account.services import delete_account
    from tests.factories import PASSWORD

    article = make_article(author.user)
    delete_account(author.user, PASSWORD)
    db.session.commit()
    db.session.refresh(article)
    assert not article.published and article.author_id is None
    assert client.get(f"/articles/{article.slug}").status_code == 404


def test_demo_articles_are_idempotent(app):
    from marketplace.articles.demo import seed_articles
    from marketplace.demo.content import ARTICLES
    from marketplace.demo.registry import DemoContext
    from tests.factories import create_specialist, create_user

    ctx = DemoContext(admin=create_user(Role.ADMIN))
    ctx.profiles = [create_specialist() for _ in range(18)]
    seed_articles(ctx)
    seed_articles(ctx)
    db.session.commit()
    assert count(Article) == len(ARTICLES)
    assert count(Article, Article.author_id == ctx.admin.id) == sum(1 for a in ARTICLES if a["author"] == "admin")
