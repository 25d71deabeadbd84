"""The verbs of 社区微更新 budget rounds (issue #20), re-exported so routes, pages and the console
import ``civic.budgets.service`` only:

* :mod:`.rounds` -- rounds, projects and reviewed costs, phase changes, the result, carrying out,
  the public result;
* :mod:`.ballots` -- eligibility, online ballots, paper ballots (two staff), receipts.
"""

from __future__ import annotations

from civic.budgets.service.ballots import (
    cast,
    check_choices,
    confirm_paper,
    enter_paper,
    entry_view,
    my_ballot,
    paper_voter_search,
    pending_entries,
    receipt,
    voter_key,
)
from civic.budgets.service.rounds import (
    add_milestone,
    add_project,
    compute_result,
    create_round,
    get_project,
    get_round,
    is_organiser,
    list_rounds,
    place_ids,
    project_list,
    project_view,
    projects_of,
    public_result,
    publish_result,
    published_rounds,
    require_organiser,
    review_cost,
    round_view,
    set_window,
    transition,
)

__all__ = [
    "add_milestone", "add_project", "cast", "check_choices", "compute_result", "confirm_paper", "create_round",
    "enter_paper", "entry_view", "get_project", "get_round", "is_organiser", "list_rounds", "my_ballot", "paper_voter_search",
    "pending_entries", "place_ids", "project_list", "project_view", "projects_of", "public_result",
    "publish_result", "published_rounds", "receipt", "require_organiser", "review_cost", "round_view",
    "set_window", "transition", "voter_key",
]
