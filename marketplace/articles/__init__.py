from flask import Blueprint

bp = Blueprint("articles", __name__)

from marketplace.articles import views  # noqa: E402,F401
