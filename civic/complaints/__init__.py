"""civic/complaints: photographed complaints routed to the 六位一体 six-party queue.

* service/   — the domain's verbs, one module per group, re-exported by ``service``:
  intake (filing, duplicates), assignment (parties from the routing table), workflow (states,
  transitions, working-day deadlines), privacy (who sees what of the complainant), photos,
  messages, rating, queue (the queue and a case as its viewer sees it), public (Open311/open data)
* routing.py — the routing table (category → lead and assisting kinds, deadlines, who may see the
  complainant), per district, defaults from data/routing.json
* suggest.py — category suggestions from a complaint's text (a learned model, data/suggest_model.npz;
  trained by scripts/train_suggest.py)
* stats.py   — oversight figures for the street centre (督办统计)
* jobs.py    — periodic and deferred jobs: overdue marking and escalation, closing unrated cases,
  deadlines recomputed when a holiday notice is loaded
* models.py, schemas.py, routes.py (the HTTP API), demo.py (demo cases)
"""
