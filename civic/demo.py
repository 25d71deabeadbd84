"""The demo street: what ``flask civic seed-demo`` loads.

One Shanghai street office (滨江街道, 浦东新区) with three communities, four compounds (unit areas
drawn from ``shared/data/areas_sample.csv`` when it is beside the repository, else from the same
figures kept here; 滨江花园 has 1,200 units), one village, organisations of every kind with staff
accounts, and residents tied to units: co-owners, an owner of two units, a tenant, and units the
developer still holds (unsold, and sold but not yet delivered).

Every demo password is ``civic-demo-2026`` (administrator: ``civic-admin-2026``).
"""

from __future__ import annotations

import csv
import json
import os
import random
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from civic.accounts.models import User
from civic.accounts.service import create_resident, create_staff, hash_password
from civic.core.errors import Conflict
from civic.extensions import db
from civic.property import service as registry
from civic.property.models import Place, UnitResident
from civic.village.demo import load_demo_village
from civic.voting.demo import load_demo_votes

DEMO_PASSWORD = "civic-demo-2026"
ADMIN_PASSWORD = "civic-admin-2026"

# Real flat areas from public 2019 listings, in m²: shared/data/areas_sample.csv (CIVIC_SHARED_DIR),
# or the copy shipped in the package (the same 33 rows) when shared/ is not beside the repository.
_PACKAGED_AREAS = Path(__file__).resolve().parent / "property" / "data" / "areas_sample.csv"


def _areas_path() -> Path:
    candidates = []
    if os.environ.get("CIVIC_SHARED_DIR"):
        candidates.append(Path(os.environ["CIVIC_SHARED_DIR"]) / "data" / "areas_sample.csv")
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "areas_sample.csv")
    return next((p for p in candidates if p.is_file()), _PACKAGED_AREAS)


def _areas() -> dict[str, list[Decimal]]:
    data: dict[str, list[Decimal]] = {}
    with _areas_path().open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            data.setdefault(row["compound"], []).append(Decimal(row["area_m2"]))
    return data


def _square(lat: float, lng: float, half_m: float) -> str:
    dlat = half_m / 111_320
    dlng = half_m / (111_320 * 0.8557)  # cos(31.2°)
    ring = [[lng - dlng, lat - dlat], [lng + dlng, lat - dlat], [lng + dlng, lat + dlat],
            [lng - dlng, lat + dlat], [lng - dlng, lat - dlat]]
    return json.dumps({"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]})


COMPOUNDS = [
    # code, name, community, area sample, buildings, floors, units per floor, centre (WGS-84)
    ("C-BJHY", "滨江花园", "CM-BJ", "世茂滨江花园", 12, 25, 4, (31.2396, 121.5058)),
    ("C-KC", "康城苑", "CM-KC", "上海康城", 6, 6, 2, (31.2331, 121.5121)),
    ("C-LWC", "两湾城", "CM-LW", "中远两湾城", 5, 8, 2, (31.2458, 121.5002)),
    ("C-WTY", "梧桐苑", "CM-LW", "中远两湾城", 2, 6, 2, (31.2470, 121.5090)),
]


def load_demo(*, if_empty: bool = False, cases: bool = False) -> dict:
    """Create the demo street.  Returns a summary of what was made.

    With ``cases`` (``flask civic seed-demo`` passes it), four residents' cases are filed too, so the
    staff console has a queue to show; tests that count cases load the street without them.

    With ``if_empty``, does nothing when the registry already has places (so the README's start
    command can run it every time).

    :raises Conflict: ``demo_already_seeded`` without ``if_empty`` when the demo street (its
        district ``D-PD``) is already there: nothing is written (``flask civic seed-demo`` prints
        this one line and exits 1; ``--if-empty`` exits 0 with ``{"skipped": true}``).
    """
    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(Place)):
        return {"skipped": True}
    if registry.place_by_code("D-PD") is not None:
        raise Conflict("演示数据已载入（浦东新区 D-PD 已登记），未作任何改动；如需重新载入请使用新的数据库",
                       code="demo_already_seeded")
    rnd = random.Random(278)
    areas = _areas()
    district = registry.create_place(kind="district", code="D-PD", name="浦东新区")
    street = registry.create_place(kind="street", code="S-BJ", name="滨江街道", parent=district,
                                   centre=(31.2400, 121.5050), boundary=_square(31.2400, 121.5050, 2500))
    communities = {
        code: registry.create_place(kind="community", code=code, name=name, parent=street,
                                    centre=c, boundary=_square(*c, 700))
        for code, name, c in [("CM-BJ", "滨江社区", (31.2396, 121.5058)),
                              ("CM-KC", "康城社区", (31.2331, 121.5121)),
                              ("CM-LW", "两湾社区", (31.2464, 121.5046))]
    }
    village = registry.create_place(kind="village", code="V-XF", name="新丰村", parent=street,
                                    centre=(31.2200, 121.5300), boundary=_square(31.2200, 121.5300, 900))
    lane = registry.create_place(kind="lane", code="L-BJ-18", name="滨江路18弄", parent=communities["CM-BJ"])
    registry.create_place(kind="road_section", code="R-BJ-1", name="滨江路（东昌路至浦明路）", parent=street)
    registry.create_place(kind="grid", code="G-BJ-01", name="滨江第一网格", parent=communities["CM-BJ"])

    compounds: dict[str, Place] = {}
    units_by_compound: dict[str, list[Place]] = {}
    for code, name, comm, sample, n_bld, floors, per_floor, centre in COMPOUNDS:
        comp = registry.create_place(kind="compound", code=code, name=name, parent=communities[comm],
                                     centre=centre, boundary=_square(*centre, 180))
        compounds[code] = comp
        pool = areas.get(sample) or next(iter(areas.values()))
        units_by_compound[code] = []
        for b in range(1, n_bld + 1):
            bld = registry.create_place(kind="building", code=f"{code}-{b}", name=f"{name}{b}号楼", parent=comp)
            specs = []
            for fl in range(1, floors + 1):
                for u in range(1, per_floor + 1):
                    room = f"{fl}{u:02d}"
                    src = "registry" if rnd.random() < 0.9 else rnd.choice(["survey", "contract"])
                    specs.append({"code": f"{code}-{b}-{room}", "name": f"{name}{b}号楼{room}室",
                                  "area": rnd.choice(pool), "area_source": src})
            units_by_compound[code].extend(registry.create_units(bld, specs))

    # Units the developer still holds in 滨江花园: some unsold, some sold but not yet delivered.
    bj_units = units_by_compound["C-BJHY"]
    for u in bj_units[-30:-10]:
        u.developer_status = "unsold"
    for u in bj_units[-10:]:
        u.developer_status = "sold_undelivered"

    orgs = {}

    def org(kind, code, name, covers):
        orgs[code] = registry.create_organisation(kind=kind, code=code, name=name, covers=covers,
                                                  phone="021-5888" + str(1000 + len(orgs)))
        return orgs[code]

    org("street_centre", "O-SC", "滨江街道网格化综合管理中心", [street])
    org("urban_management", "O-UM", "浦东新区城管执法局滨江中队", [street])
    org("police", "O-PS-BJ", "滨江派出所", [communities["CM-BJ"], communities["CM-KC"], village])
    org("police", "O-PS-LW", "两湾派出所", [communities["CM-LW"]])
    for cc, cm in communities.items():
        org("residents_committee", f"O-RC-{cc[3:]}", f"{cm.name}居民委员会", [cm])
    org("property_company", "O-PC-SM", "世茂物业滨江项目部", [compounds["C-BJHY"], compounds["C-LWC"]])
    org("property_company", "O-PC-KC", "康城物业服务有限公司", [compounds["C-KC"]])
    # 梧桐苑 has no property company: its cases fall back to the residents' committee.
    org("owners_committee", "O-OC-BJHY", "滨江花园业主委员会", [compounds["C-BJHY"]])
    org("owners_committee", "O-OC-KC", "康城苑业主委员会", [compounds["C-KC"]])
    org("owners_committee", "O-OC-LWC", "两湾城业主委员会", [compounds["C-LWC"]])
    org("resident_representatives", "O-RR-BJHY", "滨江花园楼组长队伍", [compounds["C-BJHY"], lane])
    org("village_committee", "O-VC-XF", "新丰村村民委员会", [village])
    org("village_supervision", "O-VS-XF", "新丰村村务监督委员会", [village])

    accounts = [("admin", "系统管理员", None, None, "admin")]
    staff_plan = [
        ("sc_wang", "王主任", "O-SC", "head"),
        ("um_li", "李队长", "O-UM", "handler"),
        ("ps_zhao", "赵警官", "O-PS-BJ", "handler"),
        ("ps_qian", "钱警官", "O-PS-LW", "handler"),
        ("rc_bj_chen", "陈书记", "O-RC-BJ", "head"),
        ("rc_bj_zhou", "周社工", "O-RC-BJ", "moderator"),
        ("rc_kc_wu", "吴主任", "O-RC-KC", "head"),
        ("rc_lw_zheng", "郑主任", "O-RC-LW", "head"),
        ("pc_sm_sun", "孙经理", "O-PC-SM", "head"),
        ("pc_sm_he", "何客服", "O-PC-SM", "handler"),
        ("pc_kc_lv", "吕经理", "O-PC-KC", "head"),
        ("oc_bj_shi", "施主任", "O-OC-BJHY", "head"),
        ("oc_bj_zhang", "张委员", "O-OC-BJHY", "handler"),
        ("oc_kc_kong", "孔主任", "O-OC-KC", "head"),
        ("oc_lwc_cao", "曹主任", "O-OC-LWC", "head"),
        ("rr_bj_yan", "严楼组长", "O-RR-BJHY", "handler"),
        ("vc_xf_hua", "华村主任", "O-VC-XF", "head"),
        ("vs_xf_jin", "金监委主任", "O-VS-XF", "head"),
    ]
    create_staff(username="admin", password=ADMIN_PASSWORD, display_name="系统管理员", kind="admin")
    demo_hash = hash_password(DEMO_PASSWORD)  # one scrypt run for all demo accounts
    for username, name, org_code, role in staff_plan:
        create_staff(username=username, password_hash=demo_hash, display_name=name,
                     memberships=[(orgs[org_code], role)])
        accounts.append((username, name, org_code, role, "staff"))

    # Residents, tied to units.  Phones are the demo range 139-0000-00xx.
    u = bj_units
    kc = units_by_compound["C-KC"]
    residents = {}

    def resident(key, name, phone, links):
        r = create_resident(display_name=name, phone=phone, openid=f"dev-{key}")
        for unit, relation, rep in links:
            registry.link_resident(r, unit, relation, representative=rep)
        residents[key] = {"name": name, "phone": phone, "wechat_code": key,
                          "units": [x[0].code for x in links]}
        return r

    resident("zhang_san", "张三", "13900000001", [(u[0], "owner", True)])
    resident("li_si", "李四", "13900000002", [(u[1], "owner", True), (u[2], "owner", True)])  # two units
    resident("wang_wu", "王五", "13900000003", [(u[3], "co_owner", True)])  # co-owners of one unit
    resident("zhao_liu", "赵六", "13900000004", [(u[3], "co_owner", False)])
    resident("sun_qi", "孙七", "13900000005", [(u[4], "tenant", False)])  # a tenant
    resident("zhou_ba", "周八", "13900000006", [(kc[0], "owner", True)])
    resident("wu_jiu", "吴九", "13900000007", [(units_by_compound["C-WTY"][0], "owner", True)])
    resident("zheng_shi", "郑十", "13900000008", [(u[-1], "owner", True)])  # bought, not yet delivered
    # Every other sold 滨江花园 unit gets an owner, so the compound can hold a full owners' vote.
    owners = [(User(kind="resident", display_name=f"业主{i:04d}", phone=f"1390000{i:04d}"), unit)
              for i, unit in enumerate(u[5:-30], start=9)]
    db.session.add_all([o for o, _ in owners])
    db.session.flush()
    db.session.add_all([UnitResident(unit_id=unit.id, user_id=o.id, relation="owner", representative=True)
                        for o, unit in owners])
    db.session.flush()
    from civic.complaints.routing import seed_defaults
    from civic.proposals.contests.demo import load_demo_contests
    from civic.proposals.deliberation.demo import load_demo_deliberation

    seed_defaults()
    load_demo_contests()
    from civic.complaints.demo import load_demo_complaints

    return {
        "village": load_demo_village(),
        "voting": load_demo_votes(),
        "deliberation": load_demo_deliberation(),
        "complaints": load_demo_complaints()["complaints"] if cases else [],
        "places": db.session.scalar(sa.select(sa.func.count()).select_from(Place)),
        "units": {c: len(v) for c, v in units_by_compound.items()},
        "organisations": len(orgs),
        "staff": len(staff_plan),
        "residents": residents,
    }
