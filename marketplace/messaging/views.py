"""Views of the messaging blueprint (placeholder until the capability lands)."""
from __future__ import annotations

from flask import render_template

from marketplace.messaging import bp


@bp.route("")
def inbox():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="Messages")
