from flask import Blueprint

bp = Blueprint("featured", __name__)

from marketplace.featured import views  # noqa: E402,F401
