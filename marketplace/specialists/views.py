"""Views of the specialists blueprint (placeholder until the capability lands)."""
from __future__ import annotations

from flask import render_template

from marketplace.specialists import bp


@bp.route("")
def directory():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="Specialists")


@bp.route("/me/edit")
def edit_profile():  # type: ignore[no-untyped-def]
    return render_template("placeholder.html", heading="Your profile")
