"""MediaStore: content addresses, idempotent atomic writes, and keys that cannot escape the root."""

from __future__ import annotations

import hashlib
import os

import pytest

from civic.core.errors import NotFound
from civic.core.storage import MediaBackend, MediaStore, key_for


@pytest.fixture
def store(tmp_path):
    return MediaStore(tmp_path / "media")


def files_under(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_put_names_the_file_by_the_sha256_of_its_bytes(store):
    data = b"\xff\xd8\xff some jpeg bytes"
    digest = hashlib.sha256(data).hexdigest()

    key = store.put(data, "jpg")

    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert store.path(key) == store.root / digest[:2] / digest[2:4] / f"{digest}.jpg"
    assert store.open(key) == data
    assert store.exists(key)


def test_put_is_idempotent_and_dedupes(store):
    first = store.put(b"same", "jpg")
    second = store.put(b"same", ".jpg")

    assert first == second
    assert files_under(store.root) == [first]


def test_written_file_is_world_readable_and_no_temp_file_remains(store):
    key = store.put(b"abc", "jpg")

    assert store.path(key).stat().st_mode & 0o777 == 0o644
    assert files_under(store.root) == [key]


def test_a_failed_write_leaves_nothing_behind(store, monkeypatch):
    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)

    with pytest.raises(OSError, match="disk gone"):
        store.put(b"abc", "jpg")
    assert files_under(store.root) == []


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../etc/passwd",
        "ba/78/" + "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.jpg/../x",
        # right shape, but the directories do not match the hash
        "00/00/" + "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.jpg",
        # upper-case hex, a short hash, a missing extension, a path-like extension
        "BA/78/" + "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD.jpg",
        "ba/78/ba7816bf.jpg",
        "ba/78/" + "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "ba/78/" + "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.j/pg",
        "",
    ],
)
def test_malformed_keys_are_not_found_and_never_touch_the_filesystem(store, key):
    with pytest.raises(NotFound) as err:
        store.path(key)
    assert err.value.code == "media_not_found"
    with pytest.raises(NotFound):
        store.open(key)
    with pytest.raises(NotFound):
        store.delete(key)
    assert store.exists(key) is False


def test_open_of_an_unknown_but_wellformed_key_is_not_found(store):
    with pytest.raises(NotFound):
        store.open(key_for(b"never stored", "jpg"))


def test_delete_reports_whether_it_removed_something(store):
    key = store.put(b"abc", "jpg")

    assert store.delete(key) is True
    assert store.delete(key) is False
    assert not store.exists(key)


def test_bad_extension_is_refused():
    with pytest.raises(ValueError):
        key_for(b"x", "../jpg")


def test_media_store_satisfies_the_backend_protocol(store):
    assert isinstance(store, MediaBackend)
