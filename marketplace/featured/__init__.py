from flask import Blueprint

bp = Blueprint("featured", __name__)
