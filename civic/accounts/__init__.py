"""Identity: residents, staff, administrators; tokens, one-time codes, roles and memberships.

* :mod:`~civic.accounts.models`: ``user_account``, ``api_token``, ``membership``, ``otp_challenge``;
* :mod:`~civic.accounts.service`: accounts, passwords, WeChat and SMS one-time-code login;
* :mod:`~civic.accounts.identity`: tokens and console sessions, Flask-Login's loaders, the
  principal cache kept true;
* :mod:`~civic.accounts.memberships`: the organisations a user acts for, and the scope checks
  (``acting_memberships``, ``require_membership``, ``require_coverage``) every domain calls;
* :mod:`~civic.accounts.routes`: ``/api/v1/auth/*`` and ``/api/v1/me``; :mod:`~civic.accounts.cli`:
  ``flask civic create-admin``.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Register what the core runs for accounts, at app creation: Flask-Login's loaders (by
    importing :mod:`civic.accounts.identity`), the WeChat openid lookup the notification adapter
    uses, and ``flask civic create-admin``."""
    from civic.accounts import cli, identity  # noqa: F401  (registers the loaders and the command)
    from civic.accounts.service import wechat_openid_of
    from civic.core import notifications

    notifications.register_openid_lookup(app, wechat_openid_of)
