"""Helpers for complaint tests: real messages, real photos, demo accounts."""

from __future__ import annotations

import csv
import functools

from tests.conftest import SHARED


@functools.cache
def messages() -> dict[str, dict]:
    with (SHARED / "data" / "messages_community_unlabeled.csv").open(encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def message(mid: str) -> str:
    r = messages()[mid]
    return f"{r['title']}\n{r['body']}"


def photo(name: str) -> bytes:
    return (SHARED / "photos" / name).read_bytes()


def login(client, username, password="civic-demo-2026") -> dict:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def wechat(client, code) -> dict:
    r = client.post("/api/v1/auth/wechat", json={"code": code})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def file_tuple(name: str, data: bytes | None = None):
    import io

    return (io.BytesIO(data if data is not None else photo(name)), name)


def submit(client, headers, *, category, description, photos=("ianare_portrait_6.jpg",), key=None, **fields):
    data = {"category": category, "description": description, **{k: str(v) for k, v in fields.items()}}
    data["photos"] = [file_tuple(p) if isinstance(p, str) else file_tuple(*p) for p in photos]
    h = dict(headers)
    if key:
        h["Idempotency-Key"] = key
    return client.post("/api/v1/complaints", data=data, headers=h, content_type="multipart/form-data")


