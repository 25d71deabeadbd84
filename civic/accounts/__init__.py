"""Identity: residents, staff, administrators; tokens, one-time codes, roles and memberships.

* :mod:`~civic.accounts.models`: ``user_account``, ``api_token``, ``membership``, ``otp_challenge``;
* :mod:`~civic.accounts.service`: accounts, passwords, WeChat and SMS one-time-code login;
* :mod:`~civic.accounts.identity`: tokens and console sessions, Flask-Login's loaders, the
  principal cache kept true;
* :mod:`~civic.accounts.memberships`: the organisations a user acts for, and the scope checks
  (``acting_memberships``, ``require_membership``, ``require_coverage``) every domain calls;
* :mod:`~civic.accounts.staff`: staff accounts and their roles (create, memberships, moves,
  password resets, disable/enable; who manages whom), and the forced password change;
  :mod:`~civic.accounts.staff_import`: the staff CSV import (all or nothing);
* :mod:`~civic.accounts.routes`: ``/api/v1/auth/*`` and ``/api/v1/me``; :mod:`~civic.accounts.staff_routes`:
  ``/api/v1/staff`` and ``/api/v1/organisations/{id}/memberships``; :mod:`~civic.accounts.cli`:
  ``flask civic create-admin``, :mod:`~civic.accounts.staff_cli`: ``flask civic import-staff``.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Register what the core runs for accounts, at app creation: Flask-Login's loaders (by
    importing :mod:`civic.accounts.identity`), the WeChat openid lookup the notification adapter
    uses, and ``flask civic create-admin``."""
    # (registers the loaders, create-admin and import-staff)
    from civic.accounts import cli, identity, staff_cli  # noqa: F401
    from civic.accounts.service import wechat_openid_of
    from civic.accounts.staff import password_change_gate
    from civic.core import notifications

    notifications.register_openid_lookup(app, wechat_openid_of)
    # After the core's own before_request functions (CSRF, limits): a member who must change the
    # password may do only that (civic.accounts.staff).
    app.before_request(password_change_gate)
