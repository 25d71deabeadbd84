"""Residents' proposals: 金点子 idea contests and 路管会/弄管会 deliberation, two domains in one house.

They are two packages, :mod:`civic.proposals.contests` and :mod:`civic.proposals.deliberation`, each
with its own models, schemas, service, routes and demo, because they share users and places but no
rule: a contest ranks ideas by a jury's scores and residents' support, a committee decides motions by
its members' votes under its rule-set.  What they do share, the moderation of residents' content
(ideas, comments, topics, topic comments), is the third package :mod:`civic.proposals.moderation`,
which knows neither: each registers its moderated kinds with it.  ``civic/proposals/`` stays the
domain's name because the product design names it; :mod:`civic.proposals.notify` is the outbox
helper the three use.

Imports run one way: contests and deliberation → moderation → notify; never back.
"""
