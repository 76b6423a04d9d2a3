"""A specialist's clients: everyone who booked with them, their consultations, and the
specialist's private note about each (encrypted at rest: ``marketplace.encryption``)."""
from flask import Blueprint

bp = Blueprint("clients", __name__)
