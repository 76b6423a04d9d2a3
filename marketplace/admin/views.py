"""Views of the admin blueprint (placeholder until the capability lands)."""
from __future__ import annotations

from flask import render_template

from marketplace.admin import bp


@bp.route("")
def dashboard():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="Admin")
