"""WSGI entry point: ``gunicorn wsgi:app`` (production) or ``flask --app wsgi run`` (embedded)."""

from civic import create_app, start_background

app = create_app()
start_background(app)
