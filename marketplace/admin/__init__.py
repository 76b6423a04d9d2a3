from flask import Blueprint

bp = Blueprint("admin", __name__)

from marketplace.admin import views  # noqa: E402,F401
