"""The admin area: one blueprint under /admin, admins only (403 for everyone else).

Each domain contributes its admin pages in its own ``admin_views`` module, registered
on this blueprint, so domain rules stay with the domain.
"""
from flask import Blueprint, abort
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.extensions import login_manager

bp = Blueprint("admin", __name__)


@bp.before_request
def _admins_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


from marketplace.admin import views  # noqa: E402,F401
from marketplace.contact import admin_views as _contact  # noqa: E402,F401
from marketplace.featured import admin_views as _featured  # noqa: E402,F401
from marketplace.payments import admin_views as _payments  # noqa: E402,F401
from marketplace.questions import admin_views as _questions  # noqa: E402,F401
from marketplace.specialists import admin_views as _specialists  # noqa: E402,F401
