from flask import Blueprint

bp = Blueprint("specialists", __name__)
