"""Views of the featured blueprint (placeholder until the capability lands)."""
from __future__ import annotations

from flask import render_template

from marketplace.featured import bp


@bp.route("/campaign")
def campaign():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="Featured specialists")
