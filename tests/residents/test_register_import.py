"""Issue #16 point 2: the committee's register ties residents to units (CSV, all or nothing, every
bad row by line, column and reason), through the API and the command line."""

from __future__ import annotations

import io

import sqlalchemy as sa

from civic.accounts.models import User
from civic.extensions import db
from civic.property.models import UnitResident

API = "/api/v1"


def _post(client, headers, text):
    return client.post(f"{API}/unit-residents/import", data={"file": (io.BytesIO(text.encode()), "r.csv")},
                       headers=headers, content_type="multipart/form-data")


def _links():
    return db.session.scalar(sa.select(sa.func.count()).select_from(UnitResident))


def test_the_residents_committee_imports_its_register(client, factory):
    lad = factory.ladder()
    u1, u2 = lad["units"]
    rc = factory.staff(factory.org("residents_committee", [lad["community"]]))
    known = factory.resident(phone="13900000009")
    text = ("unit_code,name,phone,relation,representative\n"
            f"{u1.code},陈静,13900000011,owner,\n"
            f"{u2.code},陈静,13900000011,co_owner,1\n"
            f"{u2.code},测试居民,13900000009,co_owner,0\n"
            f"{u1.code},周强,+86 139-0000-0012,tenant,\n")
    r = _post(client, factory.token(rc), text)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"links": 4, "residents_created": 2}
    chen = db.session.scalar(sa.select(User).where(User.phone == "13900000011"))
    assert (chen.kind, chen.display_name) == ("resident", "陈静")
    rows = {(link.unit_id, link.user_id): (link.relation, link.representative)
            for link in db.session.scalars(sa.select(UnitResident))}
    assert rows[(u2.id, chen.id)] == ("co_owner", True)
    assert rows[(u2.id, known.id)] == ("co_owner", False)
    zhou = db.session.scalar(sa.select(User.id).where(User.phone == "13900000012"))
    assert rows[(u1.id, zhou)] == ("tenant", False)


def test_a_bad_register_is_refused_whole_with_every_bad_row(client, factory):
    lad = factory.ladder()
    u1, u2 = lad["units"]
    other = factory.ladder()
    rc = factory.staff(factory.org("residents_committee", [lad["community"]]))
    factory.resident(phone="13900000009", units=[u1])
    staff_phone = factory.staff(factory.org("property_company", [lad["compound"]]))
    staff_phone.phone = "13900000088"
    factory.commit()
    text = ("unit_code,name,phone,relation,representative\n"
            f"{u1.code},陈静,13900000011,owner,\n"          # 2: good
            "NOPE,王五,13900000013,owner,\n"                   # 3: no such unit
            f"{other['units'][0].code},赵六,13900000014,owner,\n"  # 4: another community's unit
            f"{u2.code},钱七,12345,owner,\n"                    # 5: bad phone
            f"{u2.code},孙八,13900000015,landlord,maybe\n"       # 6: bad relation and representative
            f"{u1.code},陈静,13900000011,owner,\n"               # 7: repeats line 2
            f"{u2.code},陈晶,13900000011,owner,\n"               # 8: the phone had another name
            f"{u1.code},测试居民,13900000009,owner,\n"            # 9: already tied
            f"{u2.code},物业,13900000088,owner,\n")              # 10: a staff account's phone
    before = (_links(), db.session.scalar(sa.select(sa.func.count()).select_from(User)))
    r = _post(client, factory.token(rc), text)
    assert r.status_code == 422
    body = r.get_json()["error"]
    assert body["code"] == "import_invalid"
    got = [(e["line"], e["column"]) for e in body["details"]["errors"]]
    assert got == [(3, "unit_code"), (4, "unit_code"), (5, "phone"), (6, "relation"), (6, "representative"),
                   (7, None), (8, "name"), (9, None), (10, "phone")]
    assert all(e["reason"] for e in body["details"]["errors"])
    assert (_links(), db.session.scalar(sa.select(sa.func.count()).select_from(User))) == before
    header = _post(client, factory.token(rc), "unit,name\nx,y\n")
    assert header.status_code == 422
    assert [(e["line"], e["column"]) for e in header.get_json()["error"]["details"]["errors"]] == [
        (1, "unit_code"), (1, "phone"), (1, "relation"), (1, "unit")]


def test_only_a_committee_or_an_administrator_imports(client, factory):
    lad = factory.ladder()
    pc = factory.staff(factory.org("property_company", [lad["compound"]]))
    r = _post(client, factory.token(pc), f"unit_code,name,phone,relation\n{lad['units'][0].code},陈静,13900000011,owner\n")
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "not_register_keeper")
    assert _links() == 0


def test_the_command_line_imports_the_register(app, factory, tmp_path):
    lad = factory.ladder()
    path = tmp_path / "register.csv"
    path.write_text(f"unit_code,name,phone,relation\n{lad['units'][0].code},陈静,13900000011,owner\n",
                    encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["civic", "import-residents", str(path)])
    assert out.exit_code == 0, out.output
    assert "imported 1 links, 1 new residents" in out.output
    assert _links() == 1
    bad = tmp_path / "bad.csv"
    bad.write_text(f"unit_code,name,phone,relation\n{lad['units'][1].code},陈静,1,owner\n", encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["civic", "import-residents", str(bad)])
    assert out.exit_code != 0 and "phone" in out.output
    assert _links() == 1
