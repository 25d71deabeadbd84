"""路管会 / 弄管会 deliberation (road and lane committees): committees and their members, rule-sets,
topics raised and co-signed by residents, meetings, motions and votes, resolutions and their follow-up.

Files: ``models`` (tables), ``schemas``, ``service/`` (the verbs, by group), ``routes`` (HTTP only),
``jobs`` (overdue action items, daily), ``demo`` (the 滨江路18弄 lane committee).  Topics and topic
comments are moderated through :mod:`civic.proposals.moderation`.
"""
