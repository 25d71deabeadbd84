"""Logging in to the console: with the Flask test client, as a browser does, or in real Chromium."""

from __future__ import annotations

import re

from civic.demo import DEMO_PASSWORD


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def console_login(client, username: str, password: str):
    """POST the login form with the login page's CSRF token.  Returns ``(response, token)`` where
    ``token`` is the CSRF token of the session that login started (read from the next page, since a
    login starts a fresh session), or the login page's token when the login failed."""
    tok = csrf_token(client.get("/console/login").text)
    r = client.post("/console/login", data={"username": username, "password": password, "csrf_token": tok})
    if r.status_code == 303:
        tok = csrf_token(client.get("/console/").text)
    return r, tok


class Console:
    """A browser-like client (cookies) logged in to the console as ``username``, posting its
    session's CSRF token with every form."""

    def __init__(self, app, username: str, password: str):
        self.c = app.test_client()
        r, self.tok = console_login(self.c, username, password)
        assert r.status_code == 303, r.text

    def get(self, url, **kw):
        return self.c.get(url, **kw)

    def post(self, url, data=None, **kw):
        return self.c.post(url, data={**(data or {}), "csrf_token": self.tok}, **kw)


def browser_login(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in to the console in a Playwright ``page`` of the app served at ``base`` (as a demo
    account, whose password is the demo's), and wait for the console's home page."""
    page.goto(f"{base}/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/console/")
