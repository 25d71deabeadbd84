"""Fixtures of the voting tests."""

from __future__ import annotations

import logging

import pytest

from .helpers import Compound


@pytest.fixture
def comp(factory):
    """A compound with its owners, committee and street centre (helpers.Compound)."""
    return Compound(factory)


@pytest.fixture(autouse=True)
def _sms_log(caplog):
    # Owners verify their phone with a one-time code, which the development SMS adapter logs.
    caplog.set_level(logging.WARNING, logger="civic.accounts.service")
