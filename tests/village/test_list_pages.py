"""The village's disclosure and inquiry lists are cursor pages (foundation convention), on the demo
village: every row once, in order, whatever the page size; a forged cursor is a 400."""

from __future__ import annotations

import pytest

from civic.core.db import commit
from civic.extensions import db

PASSWORD = "civic-demo-2026"


@pytest.fixture
def demo(app):
    from civic.demo import load_demo

    load_demo()
    commit()


def _login(client, username):
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


def _all_pages(client, url, headers, limit):
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(url, headers=headers, query_string={"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.json
        seen += r.json["items"]
        pages += 1
        cursor = r.json["next_cursor"]
        if not cursor:
            return seen, pages


def test_disclosures_page_through_newest_period_first(client, demo):
    from civic.village.models import Disclosure

    hua = _login(client, "vc_xf_hua")
    url = "/api/v1/villages/V-XF/disclosures"
    whole, _ = _all_pages(client, url, hua, 100)
    paged, pages = _all_pages(client, url, hua, 4)
    stored = db.session.scalar(db.select(db.func.count()).select_from(Disclosure))
    assert len(whole) == stored == 18 and pages == 5
    assert [d["id"] for d in paged] == [d["id"] for d in whole]
    keys = [(d["period"], d["id"]) for d in whole]
    assert keys == sorted(keys, reverse=True)
    r = client.get(url, headers=hua, query_string={"cursor": "W3RydWVd"})
    assert r.status_code == 400 and r.json["error"]["code"] == "cursor_invalid"


def test_inquiries_page_through_newest_first_and_overdue_oldest_first(client, demo):
    from civic.accounts.models import User
    from civic.village import service

    villager = db.session.scalar(db.select(User).where(User.phone == "13900009901"))
    published = service.list_disclosures(service.village_by_code("V-XF"), villager, status="published")[0]
    for d in published[:3]:
        service.ask(d, "这笔钱用在哪里？", villager)
    commit()
    hua = _login(client, "vc_xf_hua")
    paged, pages = _all_pages(client, "/api/v1/villages/V-XF/inquiries", hua, 1)
    ids = [i["id"] for i in paged]
    assert len(ids) == 4 and pages == 4 and ids == sorted(ids, reverse=True)
    assert client.get("/api/v1/villages/V-XF/inquiries", headers=hua,
                      query_string={"overdue": "true"}).json == {"items": [], "next_cursor": None}
