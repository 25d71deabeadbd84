"""Residents and their homes: a resident's claim to a unit (owner, co-owner, tenant), checked by
whoever holds the truth for it, and the ties (``unit_resident``, owned by civic.property) that a
confirmed claim, a committee's register import or an unlink makes or removes.

``models.py`` the claims (``unit_claim``); ``service.py`` the verbs (claim, confirm, refuse, the
verifier's queue, the document served to the verifier, unlink); ``importer.py`` the committee's
register (CSV, all or nothing); ``routes.py`` HTTP only; ``cli.py`` ``flask civic import-residents``.

Why a package of its own and not civic/property: a claim is checked against the owners' roster
(civic.voting) and by staff acting for an organisation (civic.accounts.memberships), and both of
those sit above the registry and call it.  Claims in civic/property would make the registry call
upwards into voting and accounts: an import circle (tests/foundation/test_layout.py).  So claims sit
above all three and reach each through its service functions.
"""
