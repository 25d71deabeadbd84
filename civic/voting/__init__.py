"""civic/voting: the owners' votes (业主大会, Civil Code Art. 278).

* ``models`` -- the tables: rosters, votes, matters, the frozen heads and units, ballots, paper
  entries, proxies, deliveries;
* ``roster`` -- the owners' roster (业主名册): built from the registry or imported from CSV,
  certified, new versions, its units and summary (and ``hold_state``, a phase held during a write);
* ``access`` -- who acts for which organisation (the owners' committee, the street centre);
* ``service/`` -- the vote's verbs, one package re-exporting them (``from civic.voting import
  service``): ``votes`` (create, matters, lists), ``electorate`` (the roster frozen into heads,
  owner verification, proxies), ``phases`` (the phase machine), ``ballots`` (deliveries, online and
  proxy ballots, receipts), ``paper`` (paper entries: enter, confirm, withdraw), ``results``
  (turnout, the tally run, results, the full record);
* ``tally`` -- the Art. 278 decision itself, pure (quorum and majorities by area and headcount,
  exact integers and fractions), re-exporting ``tally_input`` (the input types, their checks,
  the roster grouped into heads) and ``tally_figures`` (fractions, percentages, areas, the
  per-building breakdown);
* ``routes`` / ``schemas`` -- the API; ``demo`` -- the demo votes.
"""
