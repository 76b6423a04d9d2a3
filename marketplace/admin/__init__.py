"""The admin area: one blueprint under /admin, admins only (403 for everyone else).

Each domain keeps its admin pages in its own ``admin_views`` module (a ``RouteTable``, see
``marketplace/routes.py``): the admin area builds on every domain, so no domain imports it; the
factory (``marketplace/blueprints.py``) adds those pages to this blueprint.
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

