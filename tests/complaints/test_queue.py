"""The queue (issue 3 point 4): filters (status, category, overdue, place), cursor pages, and the
street centre's view of its whole street."""

from __future__ import annotations

from tests.complaints.helpers import World, act, new_case, post_case, queue_ids


def test_the_queue_filters_and_pages(client, w):
    ids = [new_case(client, w, category=c, place_id=p) for c, p in [
        ("noise", w.units[0].id), ("waste_sorting", w.units[0].id), ("noise", w.units[2].id),
        ("waste_sorting", w.units[2].id), ("noise", w.units[1].id)]]
    rc = w.h["residents_committee"]  # the RC triages every case in its community
    pages, cursor = [], None
    while True:
        r = client.get("/api/v1/queue", headers=rc, query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        body = r.get_json()
        pages.append([c["id"] for c in body["items"]])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == [ids[::-1][0:2], ids[::-1][2:4], ids[::-1][4:]]
    assert queue_ids(client, rc, category="noise") == [ids[4], ids[2], ids[0]]
    assert queue_ids(client, rc, place_id=w.building2.id) == [ids[3], ids[2]]
    act(client, w.h["police"], ids[0], "acknowledge")
    assert queue_ids(client, rc, status="acknowledged") == [ids[0]]
    assert queue_ids(client, w.h["police"], status="routed") == [ids[4], ids[2]]
    assert queue_ids(client, w.h["property_company"], category="waste_sorting") == [ids[3], ids[1]]
    body = client.get("/api/v1/queue?counts=true", headers=w.h["police"]).get_json()
    assert body["organisation"]["id"] == w.orgs["police"].id and body["counts"] == {"routed": 2, "acknowledged": 1}


def test_the_street_centre_sees_every_case_in_its_street(client, factory, w):
    ids = [new_case(client, w, category=c) for c in ("noise", "waste_sorting", "other")]
    other = World(factory, phone="13812348888")  # another street
    post_case(client, other.rh, category="noise", place_id=other.units[0].id)
    body = client.get("/api/v1/queue?counts=true", headers=w.h["street_centre"]).get_json()
    assert [c["id"] for c in body["items"]] == ids[::-1]
    assert body["counts"] == {"routed": 3}
    assert queue_ids(client, w.h["street_centre"], overdue="false") == ids[::-1]
    assert queue_ids(client, w.h["street_centre"], overdue="true") == []


def test_a_resident_has_no_queue(client, w):
    assert client.get("/api/v1/queue", headers=w.rh).status_code == 403


def test_a_queue_of_someone_elses_organisation_is_refused(client, w):
    r = client.get("/api/v1/queue", headers=w.h["police"],
                   query_string={"organisation_id": w.orgs["property_company"].id})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_a_member"


def _file_supported(w, n: int) -> None:
    """``n`` cases at the resident's own unit, each supported ("me too") by a neighbour of its own."""
    import datetime as dt

    from civic.complaints.service import join
    from civic.core.db import commit
    from civic.extensions import db
    from tests.complaints.helpers import file_case

    for o in (w.resident, *w.units):  # again in this session (a measured request started a new one)
        db.session.add(o)
    for i in range(n):
        case = file_case(w, now=dt.datetime.now(dt.UTC))
        neighbour, _h = w.other_resident(unit=1 + i % 2, name=f"邻居{i}")
        join(neighbour, case.id)
        commit()


def _page_statements(get) -> list[str]:
    from civic.extensions import db
    from tests.sql import statements

    get()  # warm: the principal cache, as in a server after its first request
    db.session.remove()  # as in a server, where each request starts with an empty session
    with statements() as seen:
        r = get()
    assert r.status_code == 200
    return seen


def test_a_queue_page_costs_the_same_statements_however_many_cases_it_shows(app, client, w):
    # The queue (API and console page) of a party that may not see the complainant (the property
    # company: descriptions redacted, cases at a reporter's unit shown at the building), of one that
    # may (the residents' committee) and of the street centre: the same statements for a page of 3
    # cases as for a page of 12, and the supporters read once, for their count and for redaction.
    from tests.console.helpers import Console
    from tests.sql import reading

    usernames = {kind: w.staff[kind].username for kind in ("property_company", "residents_committee", "street_centre")}
    unit, building = w.units[0].id, w.building.id

    def pages():
        out = {}
        for kind, username in usernames.items():
            out[f"api {kind}"] = _page_statements(lambda kind=kind: client.get("/api/v1/queue?limit=50",
                                                                                  headers=w.h[kind]))
            console = Console(app, username, "test-pass-123")
            out[f"console {kind}"] = _page_statements(lambda console=console: console.get("/console/cases"))
        return out

    _file_supported(w, 3)
    small = pages()
    # What the page says is read from that one read: the count, and the place no finer than the
    # building for the company (the unit is the complainant's home), the unit for the committee.
    items = client.get("/api/v1/queue", headers=w.h["property_company"]).get_json()["items"]
    assert [(i["supporters"], i["place_id"]) for i in items] == [(1, building)] * 3
    items = client.get("/api/v1/queue", headers=w.h["residents_committee"]).get_json()["items"]
    assert [(i["supporters"], i["place_id"]) for i in items] == [(1, unit)] * 3
    _file_supported(w, 9)
    large = pages()
    assert len(client.get("/api/v1/queue?limit=50", headers=w.h["property_company"]).get_json()["items"]) == 12
    assert {k: len(v) for k, v in large.items()} == {k: len(v) for k, v in small.items()}
    for page, seen in large.items():
        assert len(reading(seen, "complaint_supporter")) == 1, (page, reading(seen, "complaint_supporter"))
