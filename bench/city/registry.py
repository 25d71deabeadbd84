"""A Shanghai-shaped registry for the city-scale benches (issue #21, point 2: the registry part).

``build_registry(db_url, scale=1.0)`` fills an already migrated database with

- 16 districts (Shanghai's real sixteen), ~208 streets, ~6,400 communities (rectangles that nest
  exactly: district ⊃ street ⊃ community ⊃ compound cell);
- 13,000 compounds, one per cell of a 130 × 100 grid over central Shanghai (WGS-84
  lng 121.20–121.80, lat 30.95–31.45; a cell is about 440 m × 555 m): each boundary is a polygon
  inset in its own cell, so no two compounds overlap.  About 5 % have a hole (a school or a
  substation inside the wall that is not the compound's) and 5 % are MultiPolygons (two parts
  either side of a road);
- 300,000 buildings (23 or 24 per compound), each with a small rectangular footprint inside its
  compound (never in the hole or the road) and its centre;
- units for a sample of compounds (``unit_sample``, default 0.5 % = 65 compounds, ~60,000 units),
  6–18 floors × 2–4 units per floor, exclusive areas drawn from the real distribution in
  ``/work/shared/data/areas_sample.csv`` (33 measured flats of Shanghai compounds), area source
  ``registry``.

``scale`` multiplies the number of compounds (the grid shrinks by √scale on each side, at least
4 × 4 so there are 16 districts); buildings per compound stay the same.

**Direct inserts, not the import code.**  The rows are written with SQLAlchemy Core bulk inserts
into ``place`` (ids, materialised paths and GeoJSON computed here), because the CSV import
(``civic.property.importer``) re-parses and validates every boundary and checks every parent one
row at a time: fine for a street (hundreds of rows), hours for 313,000 boundaries.  The boundaries
are written exactly as the importer stores them (``json.dumps(shape.__geo_interface__)``, WGS-84),
and every spatial index civic keeps (PostGIS expression index on PostgreSQL, the R*Tree
``place_rtree`` and its triggers on SQLite) is maintained by the database itself, so it is up to
date after these inserts as after an import.

Command line (from the repository root)::

    python -m bench.city.registry --db URL [--scale 1.0] [--reset]

``--reset`` empties the database first (a PostgreSQL URL's public schema is DROPPED; a SQLite file
is deleted) and migrates it.  Without it the schema must be migrated already and the registry is
added beside what is there (codes start ``SH-``: run it once per database).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Central Shanghai, WGS-84 (inside the municipality's bbox lng 120.85–122.0, lat 30.67–31.88).
MIN_LNG, MAX_LNG, MIN_LAT, MAX_LAT = 121.20, 121.80, 30.95, 31.45
COLS, ROWS = 130, 100  # 13,000 compound cells at scale 1
BUILDINGS = 300_000  # at scale 1
AREAS_CSV = Path("/work/shared/data/areas_sample.csv")
DISTRICTS = ("黄浦", "徐汇", "长宁", "静安", "普陀", "虹口", "杨浦", "闵行",
             "宝山", "嘉定", "浦东新", "金山", "松江", "青浦", "奉贤", "崇明")
BATCH = 5_000


def _engine(db_url: str) -> sa.Engine:
    if db_url.startswith("postgresql://"):
        db_url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    return sa.create_engine(db_url)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """``n`` items in ``parts`` contiguous runs as equal as can be: [(start, stop), ...]."""
    parts = max(1, min(parts, n))
    bounds = [round(k * n / parts) for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in ring]]}


def _dump(geometry: dict) -> str:
    return json.dumps(geometry, ensure_ascii=False)


def compound_shape(x0: float, y0: float, x1: float, y1: float, rng: random.Random):
    """A compound's boundary inside the cell ``[x0, x1] × [y0, y1]`` (lng, lat), as a shapely geometry.

    An inset octagon (a rectangle with cut corners); 5 % with a hole, 5 % in two parts.
    """
    from shapely.geometry import MultiPolygon, Polygon

    w, h = x1 - x0, y1 - y0
    ax0, ax1 = x0 + w * rng.uniform(0.06, 0.14), x1 - w * rng.uniform(0.06, 0.14)
    ay0, ay1 = y0 + h * rng.uniform(0.06, 0.14), y1 - h * rng.uniform(0.06, 0.14)
    cut = min(ax1 - ax0, ay1 - ay0) * rng.uniform(0.05, 0.2)

    def octagon(a0, b0, a1, b1, c):
        return [(a0 + c, b0), (a1 - c, b0), (a1, b0 + c), (a1, b1 - c), (a1 - c, b1), (a0 + c, b1),
                (a0, b1 - c), (a0, b0 + c), (a0 + c, b0)]

    kind = rng.random()
    if kind < 0.05:  # two parts either side of a road running north-south
        mid, gap = (ax0 + ax1) / 2, (ax1 - ax0) * 0.06
        return MultiPolygon([Polygon(octagon(ax0, ay0, mid - gap, ay1, cut / 2)),
                             Polygon(octagon(mid + gap, ay0, ax1, ay1, cut / 2))])
    if kind < 0.10:  # a hole in the middle
        cx, cy = (ax0 + ax1) / 2, (ay0 + ay1) / 2
        hw, hh = (ax1 - ax0) * 0.12, (ay1 - ay0) * 0.12
        hole = [(cx - hw, cy - hh), (cx - hw, cy + hh), (cx + hw, cy + hh), (cx + hw, cy - hh), (cx - hw, cy - hh)]
        return Polygon(octagon(ax0, ay0, ax1, ay1, cut), [hole])
    return Polygon(octagon(ax0, ay0, ax1, ay1, cut))


def _rounded(geometry) -> str:
    """GeoJSON text of a shapely geometry, coordinates rounded to 1e-7° (1 cm), as civic stores it."""
    def r(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], 7), round(coords[1], 7)]
        return [r(c) for c in coords]

    gi = geometry.__geo_interface__
    return _dump({"type": gi["type"], "coordinates": r(gi["coordinates"])})


def building_footprints(compound, n: int, rng: random.Random) -> list[tuple[float, float, float, float]]:
    """Up to ``n`` building rectangles ``(x0, y0, x1, y1)`` strictly inside ``compound`` (a shapely
    geometry), on a 7 × 7 sub-grid of its bounding box, never in a hole or between parts."""
    from shapely.geometry import box

    bx0, by0, bx1, by1 = compound.bounds
    sw, sh = (bx1 - bx0) / 7, (by1 - by0) / 7
    slots = []
    for i in range(7):
        for j in range(7):
            fx0, fy0 = bx0 + i * sw + sw * 0.2, by0 + j * sh + sh * 0.25
            rect = (fx0, fy0, fx0 + sw * 0.6, fy0 + sh * 0.5)
            if compound.contains(box(*rect)):
                slots.append(rect)
    rng.shuffle(slots)
    return sorted(slots[:n])


def _areas() -> list[Decimal]:
    with AREAS_CSV.open(encoding="utf-8") as f:
        return [Decimal(row["area_m2"]) for row in csv.DictReader(f)]


def build_registry(db_url: str, scale: float = 1.0, *, seed: int = 21, unit_sample: float = 0.005,
                   building_boundaries: bool = True, log=print) -> dict:
    """Build the Shanghai-shaped registry into the migrated database at ``db_url``.

    :param db_url: SQLAlchemy URL (``sqlite:///...`` or ``postgresql://...``); the schema must be at
        the head migration; the registry is added to what is there (codes ``SH-...`` must be free).
    :param scale: 1.0 = 13,000 compounds and 300,000 buildings; 0.01 = 130 compounds and 3,000.
    :param seed: the random seed (same seed, same registry).
    :param unit_sample: the share of compounds whose buildings get units (with areas).
    :param building_boundaries: give buildings a footprint boundary (else a centre only).
    :returns: ``{"districts": n, "streets": n, "communities": n, "compounds": n, "buildings": n,
        "units": n, "seconds": s, "first_id": id, "last_id": id, "bbox": [min_lng, min_lat,
        max_lng, max_lat], "unit_compound_codes": [...]}``; place codes are ``SH-D01`` (district),
        ``SH-D01-S03`` (street), ``SH-D01-S03-C012`` (community), ``SH-K000123`` (compound, cell
        number), ``SH-K000123-B07`` (building), ``SH-K000123-B07-0302`` (unit).
    """
    from civic.property.models import Place

    started = time.perf_counter()
    rng = random.Random(seed)
    side = math.sqrt(scale)
    cols, rows = max(4, round(COLS * side)), max(4, round(ROWS * side))
    n_compounds = cols * rows
    n_buildings = round(BUILDINGS * n_compounds / (COLS * ROWS))
    cw, ch = (MAX_LNG - MIN_LNG) / cols, (MAX_LAT - MIN_LAT) / rows
    areas = _areas()
    now = dt.datetime.now(dt.UTC)
    table = Place.__table__
    engine = _engine(db_url)
    with engine.connect() as conn:
        next_id = (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
    first_id = next_id
    counts = {k: 0 for k in ("district", "street", "community", "compound", "building", "unit")}
    pending: list[dict] = []
    unit_compounds: list[str] = []

    def add(kind, code, name, parent, boundary=None, centre=None, **extra):
        nonlocal next_id
        pid = next_id
        next_id += 1
        path = (parent["path"] if parent else "/") + f"{pid}/"
        row = {"id": pid, "kind": kind, "code": code, "name": name, "parent_id": parent["id"] if parent else None,
               "path": path, "boundary": boundary, "centre_lat": centre[1] if centre else None,
               "centre_lng": centre[0] if centre else None, "area": None, "area_source": None,
               "developer_status": None, "created_at": now, "updated_at": now, **extra}
        pending.append(row)
        counts[kind] += 1
        return {"id": pid, "path": path}

    def flush(conn, force=False):
        if pending and (force or len(pending) >= BATCH):
            conn.execute(sa.insert(table), pending)
            pending.clear()

    def centre_of(x0, y0, x1, y1):
        return (round((x0 + x1) / 2, 7), round((y0 + y1) / 2, 7))

    # Buildings per compound: 23 or 24 so that the total is exactly n_buildings.
    per = [n_buildings // n_compounds] * n_compounds
    for k in rng.sample(range(n_compounds), n_buildings - sum(per)):
        per[k] += 1
    with_units = set(rng.sample(range(n_compounds), max(1, round(n_compounds * unit_sample))))

    with engine.begin() as conn:
        for d, ((c0, c1), (r0, r1)) in enumerate(
                (cb, rb) for rb in _split(rows, 4) for cb in _split(cols, 4)):
            rect = (MIN_LNG + c0 * cw, MIN_LAT + r0 * ch, MIN_LNG + c1 * cw, MIN_LAT + r1 * ch)
            dcode = f"SH-D{d + 1:02d}"
            district = add("district", dcode, f"{DISTRICTS[d]}区", None, _dump(_rect(*rect)), centre_of(*rect))
            for s, (sr0, sr1) in enumerate(_split(r1 - r0, max(1, (r1 - r0) // 2))):
                rect = (MIN_LNG + c0 * cw, MIN_LAT + (r0 + sr0) * ch, MIN_LNG + c1 * cw, MIN_LAT + (r0 + sr1) * ch)
                scode = f"{dcode}-S{s + 1:02d}"
                street = add("street", scode, f"{DISTRICTS[d]}第{s + 1}街道", district,
                             _dump(_rect(*rect)), centre_of(*rect))
                m = 0
                for row in range(r0 + sr0, r0 + sr1):
                    for a, b in _split(c1 - c0, max(1, (c1 - c0) // 2)):
                        m += 1
                        rect = (MIN_LNG + (c0 + a) * cw, MIN_LAT + row * ch, MIN_LNG + (c0 + b) * cw,
                                MIN_LAT + (row + 1) * ch)
                        community = add("community", f"{scode}-C{m:03d}", f"{DISTRICTS[d]}第{s + 1}街道第{m}居委",
                                        street, _dump(_rect(*rect)), centre_of(*rect))
                        for col in range(c0 + a, c0 + b):
                            cell = row * cols + col
                            x0, y0 = MIN_LNG + col * cw, MIN_LAT + row * ch
                            shape = compound_shape(x0, y0, x0 + cw, y0 + ch, rng)
                            kcode = f"SH-K{cell:06d}"
                            rp = shape.representative_point()
                            compound = add("compound", kcode, f"{DISTRICTS[d]}{cell}号小区", community,
                                           _rounded(shape), (round(rp.x, 7), round(rp.y, 7)))
                            units_here = cell in with_units
                            if units_here:
                                unit_compounds.append(kcode)
                            for bi, fp in enumerate(building_footprints(shape, per[cell], rng)):
                                bcode = f"{kcode}-B{bi + 1:02d}"
                                building = add("building", bcode, f"{bi + 1}号楼", compound,
                                               _dump(_rect(*fp)) if building_boundaries else None, centre_of(*fp))
                                if units_here:
                                    for floor in range(1, rng.randint(6, 18) + 1):
                                        for u in range(1, rng.randint(2, 4) + 1):
                                            add("unit", f"{bcode}-{floor:02d}{u:02d}", f"{floor:02d}{u:02d}室",
                                                building, area=rng.choice(areas), area_source="registry")
                            flush(conn)
        flush(conn, force=True)
        if conn.dialect.name == "postgresql":
            # Explicit ids were inserted: move the sequence past them.
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('place', 'id'), (SELECT max(id) FROM place))"))
    engine.dispose()
    summary = {"districts": counts["district"], "streets": counts["street"], "communities": counts["community"],
               "compounds": counts["compound"], "buildings": counts["building"], "units": counts["unit"],
               "seconds": round(time.perf_counter() - started, 1), "first_id": first_id, "last_id": next_id - 1,
               "bbox": [MIN_LNG, MIN_LAT, MAX_LNG, MAX_LAT], "unit_compound_codes": unit_compounds}
    if log:
        log({k: v for k, v in summary.items() if k != "unit_compound_codes"})
    return summary


def reset_and_migrate(db_url: str) -> None:
    """Empty the database (PostgreSQL: DROP the public schema; SQLite: delete the file) and migrate it."""
    if db_url.startswith("postgresql"):
        engine = _engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    elif db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    from civic import create_app, init_migrations

    app = create_app({"DATABASE_URL": db_url, "SECRET_KEY": "bench"})
    init_migrations(app)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="SQLAlchemy URL of a migrated database")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--reset", action="store_true", help="empty (DROP) and migrate the database first")
    args = ap.parse_args()
    if args.reset:
        reset_and_migrate(args.db)
    build_registry(args.db, args.scale, seed=args.seed)


if __name__ == "__main__":
    main()
