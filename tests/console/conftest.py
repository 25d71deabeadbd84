"""Fixtures of the console tests: the demo street (civic.demo.load_demo), loaded and committed.

``demo`` is the street without residents' cases (tests that count cases, votes, ideas);
``demo_with_cases`` adds the four cases ``flask civic seed-demo`` files, so the queue has something
to show.  Both return load_demo's summary.  A module that needs more of the street (ids of ideas)
overrides ``demo`` with a fixture of the same name that takes this one."""

from __future__ import annotations

import pytest


def _demo_street(*, cases: bool) -> dict:
    from civic.core.db import commit
    from civic.demo import load_demo

    summary = load_demo(cases=cases)
    commit()
    return summary


@pytest.fixture
def demo(app):
    """The demo street without residents' cases."""
    return _demo_street(cases=False)


@pytest.fixture
def demo_with_cases(app):
    """The demo street with its four residents' cases (``summary["complaints"]``: their ids)."""
    return _demo_street(cases=True)
