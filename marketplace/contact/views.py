"""Views of the contact blueprint (placeholder until the capability lands)."""
from __future__ import annotations

from flask import render_template

from marketplace.contact import bp


@bp.route("")
def index():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="Contact us")
