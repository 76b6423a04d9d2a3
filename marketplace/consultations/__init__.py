from flask import Blueprint

bp = Blueprint("consultations", __name__)

from marketplace.consultations import views  # noqa: E402,F401
