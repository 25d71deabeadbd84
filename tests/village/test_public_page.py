"""The public page: HTML, no login, conditional GET; open data export."""

from __future__ import annotations

import sqlite_utils


def test_index_lists_published_by_period_and_category(client, vil, publish):
    out = publish()
    r = client.get("/villages/V-T/?year=2026&category=finance")
    html = r.data.decode()
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "2026-03" in html and f"/villages/V-T/disclosures/{out['id']}" in html and "<script" not in html


def test_disclosure_page_shows_lines_and_totals_in_yuan(client, vil, publish):
    out = publish()
    html = client.get(f"/villages/V-T/disclosures/{out['id']}").data.decode()
    assert '<td class="num" id="total-income">1,234.56</td>' in html
    assert '<td class="num" id="total-expense">884.31</td>' in html
    assert '<td class="num" colspan="2" id="closing">10,350.25</td>' in html
    assert out["content_hash"] in html


def test_conditional_get_answers_304_until_content_changes(client, vil, publish):
    out = publish()
    url = f"/villages/V-T/disclosures/{out['id']}"
    first = client.get(url)
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    client.post(f"/api/v1/village-disclosures/{out['id']}/inquiries", json={"question": "请问凭证在哪里查看？"},
                headers=vil["h_villager"])
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and "请问凭证在哪里查看？" in again.data.decode()


def test_unknown_village_is_404_in_the_envelope(client):
    r = client.get("/villages/V-NONE/")
    assert r.status_code == 404 and r.json["error"]["code"] == "village_not_found"


def test_open_data_export_finds_a_disclosure_by_a_chinese_word(client, runner, vil, publish, tmp_path):
    from civic.village.opendata import search

    out = publish()
    r = client.post(f"/api/v1/village-disclosures/{out['id']}/inquiries", json={"question": "修补用了多少钱？"},
                    headers=vil["h_villager"])
    client.post(f"/api/v1/village-inquiries/{r.json['id']}/answer", json={"answer": "800元。"}, headers=vil["h_hua"])
    target = tmp_path / "open.db"
    result = runner.invoke(args=["civic", "export-open-data", str(target)])
    assert result.exit_code == 0, result.output
    db = sqlite_utils.Database(target)
    assert [r["id"] for r in search(db, "道路")] == [out["id"]]
    assert [r["amount_fen"] for r in db["lines"].rows] == [123456, 80000, 8431]
    assert [(r["question"], r["answer"]) for r in db["inquiries"].rows] == [("修补用了多少钱？", "800元。")]
    cols = {c.name for t in ("disclosures", "lines", "inquiries") for c in db[t].columns}
    assert not cols & {"asker_id", "created_by_id", "signed_off_by_id", "answered_by_id", "phone"}
    assert (tmp_path / "open_disclosures.csv").read_text(encoding="utf-8-sig").count("\n") == 2
