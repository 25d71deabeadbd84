"""Fixtures of the complaints tests."""

from __future__ import annotations

import pytest

from tests.complaints.helpers import World


@pytest.fixture
def w(factory):
    """The test street with its six parties, street centre and a resident (helpers.World)."""
    return World(factory)
