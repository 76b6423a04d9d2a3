"""Views of the consultations blueprint (placeholder until the capability lands)."""
from __future__ import annotations

from flask import render_template

from marketplace.consultations import bp


@bp.route("/consultations")
def my_consultations():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="My consultations")
