"""Privacy (issue 3 point 7, RULES.md §5, PIPL): the complainant goes only to parties the routing
table allows, masked by default, never to the party complained about; reveals are audited; photos
only for those who may see the case, at addresses nobody can guess."""

from __future__ import annotations

import re

from tests.complaints.helpers import World, audit_entries, jpeg, post_case


def case(client, w, category):
    r = post_case(client, w.rh, category=category, place_id=w.units[0].id)
    assert r.status_code == 201
    return r.get_json()


def view(client, w, cid, kind):
    return client.get(f"/api/v1/complaints/{cid}", headers=w.h[kind]).get_json()


def reveal(client, w, cid, kind, reason="上门核实需联系投诉人"):
    return client.post(f"/api/v1/complaints/{cid}/complainant", headers=w.h[kind], json={"reason": reason})


def test_an_allowed_party_sees_the_complainant_masked(client, w):
    cid = case(client, w, "noise")["id"]
    assert view(client, w, cid, "police")["complainant"] == {"display_name": "张**", "phone": "138****1234",
                                                             "masked": True}
    assert view(client, w, cid, "residents_committee")["complainant"]["phone"] == "138****1234"


def test_a_party_not_in_reveal_kinds_sees_no_complainant(client, w):
    cid = case(client, w, "noise")["id"]
    assert view(client, w, cid, "property_company")["complainant"] is None
    r = reveal(client, w, cid, "property_company")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "complainant_hidden"


def test_the_property_company_complained_about_never_sees_the_complainant(client, w):
    cid = case(client, w, "property_service")["id"]
    pc = view(client, w, cid, "property_company")
    # It assists (it must put things right) but never leads a complaint about itself (issue #18).
    assert pc["your_roles"] == ["assist"] and pc["complainant"] is None
    r = reveal(client, w, cid, "property_company", reason="想知道是谁投诉")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "complainant_hidden"
    assert audit_entries(cid, "complaint.complainant_revealed") == []
    assert view(client, w, cid, "owners_committee")["complainant"]["masked"] is True


def test_a_reveal_gives_the_full_identity_and_is_audited(client, w):
    cid = case(client, w, "group_renting")["id"]
    r = reveal(client, w, cid, "police", reason="核查群租，需电话联系")
    assert r.status_code == 200
    assert r.get_json() == {"display_name": "张小红", "phone": "13812341234", "masked": False}
    entry = audit_entries(cid, "complaint.complainant_revealed")
    assert len(entry) == 1
    assert entry[0].actor_id == w.staff["police"].id and entry[0].note == "核查群租，需电话联系"


def test_a_reveal_needs_a_reason(client, w):
    cid = case(client, w, "group_renting")["id"]
    assert reveal(client, w, cid, "police", reason="").status_code == 422
    assert reveal(client, w, cid, "police", reason="   ").status_code == 422
    assert audit_entries(cid, "complaint.complainant_revealed") == []


def test_a_staff_look_at_a_case_is_logged(client, w):
    cid = case(client, w, "noise")["id"]
    view(client, w, cid, "police")
    assert [e.actor_id for e in audit_entries(cid, "complaint.viewed")] == [w.staff["police"].id]


def test_photos_are_served_only_to_those_who_see_the_case(client, factory, w):
    c = case(client, w, "noise")
    url = c["photos"][0]["url"]
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert client.get(url, headers=w.rh).status_code == 200
    assert client.get(url, headers=w.h["police"]).status_code == 200
    _, neighbour = w.other_resident()
    assert client.get(url, headers=neighbour).status_code == 404
    elsewhere = World(factory, phone="13812347777")
    r = client.get(url, headers=elsewhere.h["property_company"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "complaint_not_found"
    assert client.get(url).status_code == 401


def test_a_guessed_photo_address_is_404(client, w):
    c = case(client, w, "noise")
    r = client.get(f"/api/v1/complaints/{c['id']}/photos/{'A' * 43}", headers=w.rh)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "photo_not_found"


def test_photo_tokens_differ_even_for_the_same_picture(client, w):
    shot = jpeg(colour=(9, 9, 9))
    a = post_case(client, w.rh, place_id=w.units[0].id, photos=[("a.jpg", shot)]).get_json()
    b = post_case(client, w.rh, place_id=w.units[0].id, photos=[("a.jpg", shot)]).get_json()
    assert a["photos"][0]["url"].rsplit("/", 1)[1] != b["photos"][0]["url"].rsplit("/", 1)[1]
    # and one case's token does not open the same picture under another case id
    assert client.get(f"/api/v1/complaints/{b['id']}/photos/{a['photos'][0]['url'].rsplit('/', 1)[1]}",
                      headers=w.rh).status_code == 404


def test_another_resident_cannot_see_the_case(client, w):
    cid = case(client, w, "noise")["id"]
    _, neighbour = w.other_resident()
    assert client.get(f"/api/v1/complaints/{cid}", headers=neighbour).status_code == 404
    assert client.get(f"/api/v1/complaints/{cid}/history", headers=neighbour).status_code == 404


def test_the_resident_never_sees_staff_coordinates_or_parties(client, w):
    c = case(client, w, "noise")
    assert "parties" not in c and "lat" not in c
