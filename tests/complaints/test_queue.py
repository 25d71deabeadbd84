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
