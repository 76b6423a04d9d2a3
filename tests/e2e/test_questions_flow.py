"""Real browser: a visitor is prompted, signs up, asks anonymously, reports; pages pass axe-core."""
from playwright.sync_api import expect

from tests.e2e.helpers import confirm_email, sign_up


def assert_accessible(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_visitor_signs_up_and_asks_anonymously(page, live_server, make_user):
    from marketplace.articles.models import Article
    from marketplace.auth.models import Role
    from marketplace.database import utcnow
    from marketplace.extensions import db

    admin = make_user(role=Role.ADMIN)
    db.session.add(Article(author_id=admin.id, title="A calm first step", slug="a-calm-first-step",
                           summary="Why talking helps.", body="## Start small\n\nTalk to someone.",
                           published=True, published_at=utcnow()))
    db.session.commit()

    page.goto("/questions")
    page.get_by_role("link", name="Ask a question").first.click()
    prompt = page.get_by_test_id("gated-prompt")
    expect(prompt).to_contain_text("To create a new Question, please log in or create an account")
    prompt.get_by_role("link", name="Sign up").click()
    sign_up(page, "Quinn Privateperson", "quinn@example.test")
    confirm_email(page, "quinn@example.test")  # the link brings them back to the question form

    expect(page).to_have_url(f"{live_server.url}/questions/new")
    assert_accessible(page)
    page.get_by_label("Your question").fill("How do I tell my family I am starting therapy?")
    page.get_by_label("Topic").select_option(label="Family & parenting")
    page.get_by_label("Details").fill("I worry they will take it personally. How do others start that talk?")
    page.get_by_label("Ask anonymously").check()
    page.get_by_role("button", name="Publish question").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("How do I tell my family I am starting therapy?")
    expect(page.get_by_text("Asked by Anonymous")).to_be_visible()
    expect(page.get_by_text("If you are in danger or crisis").first).to_be_visible()
    assert "Privateperson" not in page.title()
    assert_accessible(page)
    page.get_by_text("Report", exact=True).first.click()
    page.get_by_label("Why should a moderator look at this question?").select_option(label="Something else")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thank you for the report")).to_be_visible()

    page.goto("/questions")
    expect(page.get_by_text("How do I tell my family I am starting therapy?")).to_be_visible()
    assert "Privateperson" not in page.content()
    assert_accessible(page)

    page.goto("/articles/a-calm-first-step")
    expect(page.get_by_text("Balance editorial team", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Book a free consultation")).to_be_visible()
    assert_accessible(page)
    assert page.foreign_requests == []
