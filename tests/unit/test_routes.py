"""RouteTable: a domain's admin pages, added to the admin blueprint by the factory."""
from __future__ import annotations

from flask import Blueprint, Flask

from marketplace.routes import RouteTable


def test_routes_are_added_once_under_the_blueprint_name():
    pages = RouteTable()

    @pages.route("/moderation")
    def moderation() -> str:
        return "queue"

    @pages.route("/moderation/<int:item>/hide", methods=["POST"], endpoint="hide_item")
    def hide(item: int) -> str:
        return f"hidden {item}"

    admin = Blueprint("admin", __name__)
    for _ in range(2):  # the factory runs for every app: the second time adds nothing
        pages.add_to(admin)
        app = Flask(__name__)
        app.register_blueprint(admin, url_prefix="/admin")
        client = app.test_client()
        assert client.get("/admin/moderation").get_data(as_text=True) == "queue"
        assert client.post("/admin/moderation/7/hide").get_data(as_text=True) == "hidden 7"
        assert client.get("/admin/moderation/7/hide").status_code == 405
        assert {rule.endpoint for rule in app.url_map.iter_rules()} >= {"admin.moderation", "admin.hide_item"}
    assert len(admin.deferred_functions) == 2
