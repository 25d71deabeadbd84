"""civic/village: 村务公开 (village affairs and finance disclosures, signed off by the supervision
committee and published on a public page on schedule; villagers' inquiries; open data).

* ``service/`` — the verbs, a package re-exporting them (``from civic.village import service``):
  ``money`` (分 and 元, pasted lines), ``periods`` (period codes, today in Shanghai), ``committees``
  (who may act, committee membership), ``catalogue`` (profile, catalogue, settings), ``content``
  (totals, content hash, balance check), ``workflow`` (the disclosure state machine and ``claim``),
  ``guard`` (the before-flush guard), ``disclosures`` (drafting, lines, vouchers, corrections),
  ``inquiries`` (questions and answers), ``schedules`` (due/overdue, the town's overview, notices),
  ``public`` (what the public page shows);
* ``models`` — the tables; ``schemas`` and ``routes`` — the JSON API; ``pages`` — the public pages;
* ``jobs`` — the periodic overdue check; ``opendata`` and ``cli`` — the open-data export;
  ``demo`` — the demo village.
"""
