from flask import Blueprint

bp = Blueprint("questions", __name__)

from marketplace.questions import views  # noqa: E402,F401
