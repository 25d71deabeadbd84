"""The owners' vote pages as staff read them (issue #15 point 15), on the demo street's open vote of
滨江花园: every paper-ballot, turnout and results page names units as ``滨江花园3号楼1203室``, never by
their registry code (``C-BJHY-3-1203``); areas are shown in m² with their unit (never an exact
fraction of hundredths of a m² such as ``20485/27303011``); the 户数 cells are filled; the turnout
list is paginated.  Rendered with the Flask test client, as the committee head, a member and the
street centre see them."""

from __future__ import annotations

import re

import sqlalchemy as sa

from civic.demo import DEMO_PASSWORD
from civic.extensions import db

from .helpers import Console

CODE = re.compile(r"C-BJHY-\d+-\d+")
HUNDREDTHS_FRACTION = re.compile(r"\d+/\d{4,}")  # an area share as "n/d" of hundredths


def _units(vote_id, codes):
    from civic.voting.models import VoteUnit

    return dict(db.session.execute(sa.select(VoteUnit.unit_code, VoteUnit.roster_unit_id).where(
        VoteUnit.vote_id == vote_id, VoteUnit.unit_code.in_(codes))).all())


def _enter(console, vid, ruid, matter, choice, shared_dir):
    from tests.voting.helpers import PHOTO, signer_fields

    data = {f"matter-{matter}": choice, **signer_fields(vid, ruid),
            "scan": ((shared_dir / "photos" / PHOTO).open("rb"), "ballot.jpg")}
    r = console.post(f"/console/votes/{vid}/paper/{ruid}", data, content_type="multipart/form-data")
    assert r.status_code == 201, r.text
    return r


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _visible(html: str) -> str:
    """What a reader sees: the text, without attribute values (an input echoing a typed code is
    what staff typed) and without the page's own hidden tokens."""
    return _text(re.sub(r'value="[^"]*"', "", html))


def test_paper_turnout_and_results_pages_name_units_and_show_areas_in_square_metres(app, demo, shared_dir):
    from civic.voting import service

    vid = demo["voting"]["vote_id"]
    (matter,) = [m.id for m in service.matters_of(vid)]
    shi, zhang = Console(app, "oc_bj_shi", DEMO_PASSWORD), Console(app, "oc_bj_zhang", DEMO_PASSWORD)
    centre = Console(app, "sc_wang", DEMO_PASSWORD)
    units = _units(vid, ["C-BJHY-3-1203", "C-BJHY-1-102", "C-BJHY-1-103", "C-BJHY-5-301"])
    pages = {}
    # 3-1203 entered and confirmed; 1-102 and 1-103 (李四's, one head) disagree: contested
    pages["entered"] = _enter(shi, vid, units["C-BJHY-3-1203"], matter, "agree", shared_dir).text
    _enter(shi, vid, units["C-BJHY-1-102"], matter, "agree", shared_dir)
    pages["contested"] = _enter(shi, vid, units["C-BJHY-1-103"], matter, "oppose", shared_dir).text
    _enter(shi, vid, units["C-BJHY-5-301"], matter, "oppose", shared_dir)
    pages["search"] = shi.get(f"/console/votes/{vid}/paper?building=滨江花园3号楼&q=1203").text
    pages["unit"] = shi.get(f"/console/votes/{vid}/paper/{units['C-BJHY-1-102']}").text
    pages["confirm"] = zhang.get(f"/console/votes/{vid}/confirm").text
    for entry_id in re.findall(r'id="confirm-(\d+)"', pages["confirm"]):
        zhang.post(f"/console/votes/paper-entries/{entry_id}/confirm")
    pages["vote"] = shi.get(f"/console/votes/{vid}").text
    for show in ("all", "voted", "not_voted"):
        pages[f"turnout-{show}"] = shi.get(f"/console/votes/{vid}/turnout?show={show}").text
    pages["turnout-2"] = centre.get(f"/console/votes/{vid}/turnout?page=2").text
    # close, resolve 李四's contest (the wrong one withdrawn by the head), preview and publish
    entry = re.search(r'<tr id="entry-(\d+)"><td>滨江花园1号楼103室', pages["contested"]).group(1)
    assert shi.post(f"/console/votes/{vid}/transitions/close").status_code == 303
    assert shi.post(f"/console/votes/paper-entries/{entry}/withdraw",
                    {"reason": "与业主核实", "back": str(units["C-BJHY-1-103"])}).status_code == 303
    for entry_id in re.findall(r'id="confirm-(\d+)"', zhang.get(f"/console/votes/{vid}/confirm").text):
        assert zhang.post(f"/console/votes/paper-entries/{entry_id}/confirm").status_code == 303  # 1-102's
    pages["preview"] = centre.get(f"/console/votes/{vid}/results").text
    assert shi.post(f"/console/votes/{vid}/transitions/publish").status_code == 303
    pages["results"] = centre.get(f"/console/votes/{vid}/results").text

    for name, html in pages.items():
        seen = _visible(html)
        assert not CODE.search(seen), (name, CODE.search(seen).group(0))
        assert not HUNDREDTHS_FRACTION.search(seen), (name, HUNDREDTHS_FRACTION.search(seen).group(0))

    assert "滨江花园3号楼1203室" in _text(pages["search"].split('id="units"')[1])
    assert "纸质选票 · 滨江花园1号楼102室" in pages["unit"]
    assert "滨江花园1号楼102室、滨江花园1号楼103室" in _text(pages["unit"])  # the head's units
    assert "滨江花园1号楼102室" in _text(pages["contested"].split('id="contested"')[1])
    assert "滨江花园3号楼1203室" in _text(pages["confirm"])
    assert "滨江花园1号楼102室（录入编号" in _text(pages["vote"].split('id="conflicts"')[1])

    # turnout: every total in m² with its unit, the 户数 cells filled, the list paginated
    turnout = pages["turnout-all"]
    for row in ("row-all", "row-returned", "row-counted", "row-contested", "row-share"):
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", turnout.split(f'id="{row}"')[1].split("</tr>")[0])
        assert len(cells) == 3 and all(c.strip() for c in cells), (row, cells)
    share = re.findall(r"<td[^>]*>([^<]*)</td>", turnout.split('id="row-share"')[1].split("</tr>")[0])
    assert re.fullmatch(r"2 / \d+ 人（\d+\.\d\d%）", share[0]), share
    assert re.fullmatch(r"2 / \d+ 户（\d+\.\d\d%）", share[1]), share
    assert re.fullmatch(r"[\d,]+\.\d\d m² / [\d,]+\.\d\d m²（\d+\.\d\d%）", share[2]), share
    listed = re.findall(r"<tr><td>([^<]+)</td>", turnout.split('id="turnout"')[1])
    assert len(listed) == 100 and all(n.startswith("滨江花园") for n in listed)
    assert "下一页" in turnout and "第 1 / " in _text(turnout)
    second = re.findall(r"<tr><td>([^<]+)</td>", pages["turnout-2"].split('id="turnout"')[1])
    assert second and not set(second) & set(listed)
    voted = re.findall(r"<tr><td>([^<]+)</td>", pages["turnout-voted"].split('id="turnout"')[1])
    assert "滨江花园3号楼1203室" in voted and "滨江花园1号楼102室、滨江花园1号楼103室" in voted

    # results: participation and approval as m² of m², heads of heads, per building with 户数
    results = _text(pages["results"])
    assert re.search(r"[\d,]+\.\d\d m² / [\d,]+\.\d\d m²（\d+\.\d\d%）", results)
    assert re.search(r"\d+ / \d+ 人（\d+\.\d\d%）", results)
    assert re.search(r"\d+ / \d+ 户", results)
