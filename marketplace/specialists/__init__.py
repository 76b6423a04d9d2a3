from flask import Blueprint

bp = Blueprint("specialists", __name__)

from marketplace.specialists import views  # noqa: E402,F401
