"""Two streets, each with its street centre and parties, and the staff who manage them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

API = "/api/v1"
PASSWORD = "test-pass-123"


@pytest.fixture
def st(factory):
    """``st.orgs[...]``, ``st.users[...]``, ``st.h[...]`` (bearer headers) for: ``admin``;
    ``sc1`` head of street 1's centre; ``pc1`` head and ``pc1_he`` handler of a property company in
    street 1; ``oc1`` head of an owners' committee in street 1; ``pc2`` head of a property company
    in street 2; ``sc2`` head of street 2's centre; ``resident``."""
    one, two = factory.ladder(), factory.ladder()
    orgs = {"sc1": factory.org("street_centre", [one["street"]], name="一街道中心"),
            "pc1": factory.org("property_company", [one["compound"]], name="一号物业"),
            "oc1": factory.org("owners_committee", [one["compound"]], name="一号业委会"),
            "pc2": factory.org("property_company", [two["compound"]], name="二号物业"),
            "sc2": factory.org("street_centre", [two["street"]], name="二街道中心")}
    users = {"admin": factory.admin(),
             "sc1": factory.staff(orgs["sc1"], "head", username="sc1-head"),
             "pc1": factory.staff(orgs["pc1"], "head", username="pc1-head"),
             "pc1_he": factory.staff(orgs["pc1"], "handler", username="pc1-he"),
             "oc1": factory.staff(orgs["oc1"], "head", username="oc1-head"),
             "pc2": factory.staff(orgs["pc2"], "head", username="pc2-head"),
             "sc2": factory.staff(orgs["sc2"], "head", username="sc2-head"),
             "resident": factory.resident()}
    h = {k: factory.token(u) for k, u in users.items()}
    return SimpleNamespace(orgs=orgs, users=users, h=h, one=one, two=two)


def login(client, username, password):
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})
