"""金点子 idea contests: residents submit ideas for their place, the organising residents' committee
moderates them, residents support them, a jury scores them and the adopted ones are carried out.

Files: ``models`` (tables), ``schemas``, ``phases`` (the dated phases and what each allows),
``service/`` (the verbs, by group), ``ranking`` (the jury's exact ranking), ``queries`` (the
mini-program's lists), ``routes`` (HTTP only), ``demo`` (the 滨江花园 greening contest).  Ideas and
comments are moderated through :mod:`civic.proposals.moderation`.
"""
