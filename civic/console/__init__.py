"""The staff console (工作台): server-rendered pages under /console for the staff of every party.

HTTP only, like the API: each view parses the form, calls the SAME service functions the API
calls (complaints, village, voting, ...), and renders a Jinja template.  Login is a Flask-Login
session; every form carries a CSRF token (civic.core.http); a successful POST redirects (303) so the
one commit per request (civic.core.http) happens before the next page is read.  Errors raised by
the services render as a page with the Chinese message (the blueprint's own error handler), not the
JSON envelope.
"""
