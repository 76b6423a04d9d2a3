from flask import Blueprint

bp = Blueprint("messaging", __name__)

from marketplace.messaging import views  # noqa: E402,F401
