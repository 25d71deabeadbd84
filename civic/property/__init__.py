"""The registry (地点与组织登记): the places of a street (district → street → community → compound →
building → unit, and villages), unit areas in m² (Decimal) for owners' votes, the organisations of
the six parties and what each covers, and residents' ties to units.

* :mod:`~civic.property.models`: ``place``, ``organisation``, ``organisation_coverage``,
  ``unit_resident``;
* :mod:`~civic.property.service`: the verbs other domains call (they never query these tables);
* :mod:`~civic.property.queries`: read-side lists and location lookup;
* :mod:`~civic.property.importer`: CSV and seed-file imports, all or nothing;
* :mod:`~civic.property.routes`: ``/api/v1/places``, ``/organisations``, imports; HTTP only;
* :mod:`~civic.property.cli`: ``flask civic import-places | import-organisations | import-seed``.
"""
