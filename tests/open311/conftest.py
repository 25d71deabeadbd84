from __future__ import annotations

import pytest

from tests.open311.helpers import issue_key


@pytest.fixture
def place(factory):
    """A compound with a property company, a residents' committee and the police covering it."""
    lad = factory.ladder()
    factory.org("residents_committee", [lad["community"]], name="测试居委会")
    factory.org("property_company", [lad["compound"]], name="测试物业")
    factory.org("police", [lad["community"]], name="测试派出所")
    return lad


@pytest.fixture
def admin_headers(factory):
    return factory.token(factory.admin())


@pytest.fixture
def partner_key(client, admin_headers):
    return issue_key(client, admin_headers)
