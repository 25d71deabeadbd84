"""The Method of Equal Shares (work in progress)."""
from __future__ import annotations


def equal_shares(projects, ballots, budget):
    """Not yet implemented."""
    raise NotImplementedError("equal_shares: in progress")
