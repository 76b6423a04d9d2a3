from flask import Blueprint

bp = Blueprint("payments", __name__)

from marketplace.payments import tasks, views  # noqa: E402,F401
