"""WSGI entry point (``gunicorn wsgi:app``) and the job queue (``huey_consumer wsgi.huey``)."""
from marketplace import create_app
from marketplace.jobs import huey_of

app = create_app()
huey = huey_of(app)
