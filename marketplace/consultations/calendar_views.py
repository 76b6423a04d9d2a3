"""The week calendar (a specialist's) and the agenda (a client's): one week at a time in the
viewer's zone, ``?week=YYYY-MM-DD`` (any date of that week). The data is ``week_calendar``'s."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.auth.models import Role
from marketplace.consultations import bp
from marketplace.consultations.week_calendar import week_calendar
from marketplace.security import role_required
from marketplace.timeutil import viewer_timezone


@bp.route("/specialists/me/calendar")
@role_required(Role.SPECIALIST)
def specialist_calendar() -> ResponseReturnValue:
    calendar = week_calendar(current_user, viewer_timezone(), request.args.get("week"))
    return render_template("consultations/calendar.html", cal=calendar)


@bp.route("/consultations/agenda")
@login_required
def agenda() -> ResponseReturnValue:
    """A client's consultations week by week (a specialist's are in their calendar)."""
    if current_user.is_specialist:
        return redirect(url_for("consultations.specialist_calendar", week=request.args.get("week") or None))
    calendar = week_calendar(current_user, viewer_timezone(), request.args.get("week"))
    return render_template("consultations/agenda.html", cal=calendar)
