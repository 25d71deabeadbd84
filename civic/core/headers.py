"""Security headers on every response, and the console's session cookie flags.

Every response civic makes (console pages, the API and its errors, the public village page, the API
docs, photos, static files) carries:

- ``Content-Security-Policy`` (``CONTENT_SECURITY_POLICY``): scripts, styles, images, fonts and
  fetches from civic's own origin only, no inline script or style anywhere (the console and the
  village page keep theirs in static files, the API docs start Swagger UI from a static file), no
  plugin, no ``<base>``, forms posting only to civic, and ``frame-ancestors 'none'``: no site may
  frame a page (clickjacking a console button).  ``data:`` images are allowed for Swagger UI's icons.
- ``X-Frame-Options: DENY``, for browsers that predate ``frame-ancestors``;
- ``X-Content-Type-Options: nosniff``: a stored file is never read as something else;
- ``Referrer-Policy: same-origin``: addresses holding a photo's access token never leave civic in
  a ``Referer``.  Not ``no-referrer``: Flask-WTF checks the ``Referer`` of every console form posted
  over HTTPS (``WTF_CSRF_SSL_STRICT``), and ``same-origin`` still sends it to civic itself;
- in production (``CIVIC_ENV=production``), ``Strict-Transport-Security`` for ``HSTS_SECONDS``
  (0 turns it off), with ``includeSubDomains``.

A view that sets one of these headers itself keeps its own value.

The console's session cookie is ``HttpOnly`` and ``SameSite=Lax`` everywhere, and ``Secure`` in
production (``SESSION_COOKIE_SECURE`` unset means "in production"; ``false`` there is refused by
:mod:`civic.core.parts`).

Written as these few lines rather than with flask-talisman (installable, last release 2023): one
policy serves every page once no page has inline code, and Talisman's defaults (redirect to HTTPS,
Secure cookies even in development over plain HTTP) would each need turning off here, since nginx
terminates TLS and redirects (docs/deploy.md).
"""

from __future__ import annotations

from flask import Flask, Response

from civic.core import parts

parts.register(parts.Part(
    "session_cookie", "SESSION_COOKIE_SECURE",
    development={False: "sends the console's session cookie over plain HTTP"},
    hint="leave it unset (Secure in production) and serve civic over HTTPS"))


def headers_for(config) -> dict[str, str]:
    """The headers every response gets under ``config``."""
    out = {
        "Content-Security-Policy": config["CONTENT_SECURITY_POLICY"],
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if config["ENV"] == "production" and config["HSTS_SECONDS"]:
        out["Strict-Transport-Security"] = f"max-age={int(config['HSTS_SECONDS'])}; includeSubDomains"
    return out


def init_app(app: Flask) -> None:
    """Set the cookie flags and add the headers to every response (an ``after_request``)."""
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config["ENV"] == "production"
    headers = headers_for(app.config)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
