"""What civic's public pages (no login, no JavaScript: the village page, the budget rounds' pages)
share: one stylesheet, ``public.css`` (the page, header, tables, cards, tags, footer), served at
``/public/static/public.css``.  Each domain's own stylesheet, linked after it, adds only its own
rules.  A file rather than inline style: civic's Content-Security-Policy allows no inline style."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public_assets", __name__, static_folder="static/public", static_url_path="/public/static")
