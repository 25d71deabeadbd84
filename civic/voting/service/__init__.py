"""The owners' vote's verbs: create, matters, the phase machine, deliveries, owner verification,
proxies, ballots (online, proxy, paper with two-person confirmation), receipts, turnout, the tally
and its publication, and the full record.

Sources (RULES.md §1): Civil Code Art. 278 (matters, quorum, majorities), Art. 1259 (以上 includes
the boundary); SPC 法释〔2009〕7号 Arts. 8-9 (area and headcount, developer-held units, buyers of
undelivered units are not owners); 上海市住宅物业管理规定 Arts. 16 (certified roster), 18 (written
voting, proxies with a written authorisation), 69 (votes of part of a compound).

Privacy: phones are shown masked; before a vote closes, staff see who voted but never how; the
full record is for the owners' committee and the street centre after closing, and every look at it
is written to the audit log.

The verbs live in modules by what they do; this package re-exports the public ones, so callers
keep one import (``from civic.voting import service``; ``service.cast_ballot(...)``):

* :mod:`~civic.voting.service.votes` -- the vote: look-up, create, matters and attachments, lists,
  the Art. 278 matter items and display names;
* :mod:`~civic.voting.service.electorate` -- who may vote: the roster frozen into heads, owner
  verification, proxies, the heads an account may vote for, roster lists;
* :mod:`~civic.voting.service.phases` -- the phase machine (:data:`TRANSITIONS`), its blockers and
  side effects;
* :mod:`~civic.voting.service.ballots` -- deliveries, online and proxy ballots, receipts, own ballots;
* :mod:`~civic.voting.service.paper` -- paper entries: enter, confirm, withdraw, and the paper desk's
  reads;
* :mod:`~civic.voting.service.results` -- turnout, the tally's inputs and run, results, the full record;
* :mod:`~civic.voting.service.media` -- the stored files (matter attachments, proxies' authorisations,
  paper ballot scans), served by token to those entitled, every access audited.
"""

from __future__ import annotations

from civic.voting.service.ballots import (
    ONLINE_CHOICES,
    cast_ballot,
    my_ballots,
    receipt,
    record_deliveries,
)
from civic.voting.service.electorate import (
    list_rosters,
    register_proxy,
    roster_head_count,
    rosters_of,
    verify_owner,
)
from civic.voting.service.media import (
    attachment_links,
    matter_attachment,
    may_read_vote,
    paper_scan,
    paper_scan_of_entry,
    paper_scan_url,
    proxy_scan,
    proxy_scan_url,
)
from civic.voting.service.paper import (
    PAPER_CHOICES,
    confirm_paper_ballot,
    enter_paper_ballot,
    paper_entry_vote_id,
    paper_unit,
    paper_unit_search,
    pending_paper_entries,
    withdraw_paper_ballot,
)
from civic.voting.service.phases import (
    TRANSITIONS,
    Transition,
    available_transitions,
    transition,
)
from civic.voting.service.results import (
    building_cells,
    compute_results,
    conflicting_paper_heads,
    full_record,
    results,
    run_tally,
    tally_inputs,
    turnout,
    turnout_totals,
)
from civic.voting.service.votes import (
    CHANNEL_NAMES,
    CHOICE_NAMES,
    COUNTING_MODE_NAMES,
    MATTER_ITEMS,
    STATE_NAMES,
    add_attachments,
    add_matter,
    compounds_for,
    create_vote,
    get_vote,
    list_votes,
    matter_items,
    matters_of,
    visible_vote,
    vote_detail,
    vote_for_reader,
    vote_to_act_on,
    votes_visible_to,
)

__all__ = [
    "get_vote",
    "create_vote",
    "add_matter",
    "add_attachments",
    "matters_of",
    "vote_detail",
    "visible_vote",
    "vote_to_act_on",
    "votes_visible_to",
    "list_votes",
    "MATTER_ITEMS",
    "STATE_NAMES",
    "CHOICE_NAMES",
    "CHANNEL_NAMES",
    "COUNTING_MODE_NAMES",
    "matter_items",
    "compounds_for",
    "vote_for_reader",
    "roster_head_count",
    "rosters_of",
    "verify_owner",
    "register_proxy",
    "list_rosters",
    "Transition",
    "TRANSITIONS",
    "transition",
    "available_transitions",
    "ONLINE_CHOICES",
    "record_deliveries",
    "cast_ballot",
    "receipt",
    "my_ballots",
    "PAPER_CHOICES",
    "enter_paper_ballot",
    "confirm_paper_ballot",
    "withdraw_paper_ballot",
    "paper_unit_search",
    "paper_unit",
    "pending_paper_entries",
    "paper_entry_vote_id",
    "matter_attachment",
    "proxy_scan",
    "paper_scan",
    "paper_scan_of_entry",
    "may_read_vote",
    "attachment_links",
    "proxy_scan_url",
    "paper_scan_url",
    "turnout",
    "turnout_totals",
    "tally_inputs",
    "run_tally",
    "conflicting_paper_heads",
    "building_cells",
    "compute_results",
    "results",
    "full_record",
]
