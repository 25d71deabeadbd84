"""The media store's contract, held by both backends alike: the filesystem (the embedded default) and
an S3-compatible bucket (CIVIC_MEDIA_URL), the latter against a real S3 server started by the tests
(moto, tests/s3.py).  And the reading of CIVIC_MEDIA_URL."""

from __future__ import annotations

import hashlib

import pytest

from civic.core.errors import CivicError, NotFound
from civic.core.storage import (
    BucketLocation,
    MediaBackend,
    MediaStore,
    StoredInfo,
    key_for,
    media_store,
    parse_media_url,
)
from civic.core.storage.s3 import S3MediaStore
from tests.foundation.conftest import free_port
from tests.s3 import ACCESS_KEY, SECRET_KEY


@pytest.fixture(params=["filesystem", "bucket"])
def store(request, tmp_path):
    if request.param == "filesystem":
        return MediaStore(tmp_path / "media")
    bucket = request.getfixturevalue("bucket")
    return S3MediaStore(parse_media_url(bucket.url("civic")), access_key=ACCESS_KEY, secret_key=SECRET_KEY)


def test_both_backends_satisfy_the_protocol(store):
    assert isinstance(store, MediaBackend)


def test_put_stores_under_the_content_key_and_reads_back(store):
    data = b"\xff\xd8\xff a photo"
    key = store.put(data, "jpg")
    digest = hashlib.sha256(data).hexdigest()
    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg" == key_for(data, "jpg")
    assert store.open(key) == data and store.exists(key)
    info = store.head(key)
    assert info.size == len(data) and info.sha256 in (None, digest)


def test_put_is_idempotent(store):
    assert store.put(b"same", "jpg") == store.put(b"same", ".jpg")
    assert list(store.iter_keys()) == [key_for(b"same", "jpg")]


def test_unknown_and_malformed_keys(store):
    unknown = key_for(b"never stored", "jpg")
    with pytest.raises(NotFound) as e:
        store.open(unknown)
    assert e.value.code == "media_not_found"
    assert not store.exists(unknown) and store.head(unknown) is None
    for bad in ("../etc/passwd", "ab/cd/" + "ef" * 32 + ".jpg", "/abs.jpg", None):
        assert not store.exists(bad)
        with pytest.raises(NotFound):
            store.open(bad)


def test_delete_says_whether_it_removed(store):
    key = store.put(b"gone soon", "jpg")
    assert store.delete(key) is True
    assert store.delete(key) is False
    assert not store.exists(key)


def test_iter_keys_lists_every_key_once_sorted(store):
    keys = {store.put(f"photo {i}".encode(), "jpg") for i in range(5)}
    assert list(store.iter_keys()) == sorted(keys)


# --- the bucket's own behaviour ----------------------------------------------------------------

def bucket_store(bucket, prefix=""):
    return S3MediaStore(parse_media_url(bucket.url(prefix)), access_key=ACCESS_KEY, secret_key=SECRET_KEY)


def test_objects_sit_under_the_prefix_and_others_in_the_bucket_are_ignored(bucket):
    store = bucket_store(bucket, "pudong/media")
    key = store.put(b"x", "jpg")
    bucket.put_raw("pudong/media/README.txt", b"not a key")
    bucket.put_raw("elsewhere/" + key, b"x")
    assert set(bucket.objects()) == {f"pudong/media/{key}", "pudong/media/README.txt", f"elsewhere/{key}"}
    assert list(store.iter_keys()) == [key]
    head = bucket.client.head_object(Bucket=bucket.name, Key=f"pudong/media/{key}")
    assert head["Metadata"] == {"sha256": hashlib.sha256(b"x").hexdigest()}
    assert store.head(key) == StoredInfo(size=1, sha256=hashlib.sha256(b"x").hexdigest())


def test_a_missing_bucket_is_503_naming_the_services_code(bucket):
    store = S3MediaStore(parse_media_url(bucket.url().replace(bucket.name, "no-such-bucket-here")),
                         access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    with pytest.raises(CivicError) as e:
        store.put(b"x", "jpg")
    assert (e.value.status, e.value.code) == (503, "media_unavailable") and "NoSuchBucket" in e.value.message


def test_an_unreachable_endpoint_is_503(bucket):
    dead = bucket.url().replace(bucket.server.endpoint, f"http://127.0.0.1:{free_port()}")
    store = S3MediaStore(parse_media_url(dead), access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    for call in (lambda: store.open(key_for(b"x", "jpg")), lambda: store.exists(key_for(b"x", "jpg")),
                 lambda: list(store.iter_keys())):
        with pytest.raises(CivicError) as e:
            call()
        assert (e.value.status, e.value.code) == (503, "media_unavailable")


@pytest.mark.parametrize(("addressing", "host"), [("virtual", "civic-media.oss-cn-shanghai.aliyuncs.com"),
                                                   ("path", "oss-cn-shanghai.aliyuncs.com")])
def test_addressing_style_decides_where_the_bucket_name_goes(addressing, host):
    # No request: the URL the client would send to (a presigned URL shows it).
    store = S3MediaStore(parse_media_url(
        "s3://civic-media/pd?endpoint=https://oss-cn-shanghai.aliyuncs.com&region=cn-shanghai"
        f"&addressing={addressing}"), access_key="a", secret_key="b")
    url = store.client.generate_presigned_url("get_object", Params={"Bucket": "civic-media", "Key": "pd/k"})
    assert url.startswith(f"https://{host}/") and ("/civic-media/pd/k?" in url) == (addressing == "path")
    assert "cn-shanghai" in url  # signed for the region given


def test_media_store_follows_the_setting(app, bucket, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(tmp_path / "m"))
    fs = media_store()
    assert isinstance(fs, MediaStore) and fs.root == tmp_path / "m"
    for name, value in bucket.config("a").items():
        monkeypatch.setitem(app.config, name, value)
    s3 = media_store()
    assert isinstance(s3, S3MediaStore) and s3 is media_store()  # one client per app and setting
    monkeypatch.setitem(app.config, "MEDIA_URL", bucket.url("b"))
    assert media_store() is not s3 and media_store().object_name("00/00/" + "0" * 64 + ".jpg").startswith("b/")


# --- CIVIC_MEDIA_URL ---------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("s3://civic-media", BucketLocation("civic-media")),
    ("s3://civic-media/pudong/", BucketLocation("civic-media", "pudong")),
    ("s3://civic-media-1250000000/a/b?endpoint=https://cos.ap-shanghai.myqcloud.com&region=ap-shanghai",
     BucketLocation("civic-media-1250000000", "a/b", "https://cos.ap-shanghai.myqcloud.com", "ap-shanghai")),
    ("s3://civic?endpoint=https://obs.cn-east-3.myhuaweicloud.com/&region=cn-east-3",
     BucketLocation("civic", "", "https://obs.cn-east-3.myhuaweicloud.com", "cn-east-3")),
    ("s3://civic?endpoint=http://10.0.0.5:9000&addressing=path",
     BucketLocation("civic", "", "http://10.0.0.5:9000", None, "path")),
])
def test_media_url_is_read(url, expected):
    assert parse_media_url(url) == expected


@pytest.mark.parametrize(("url", "names"), [
    ("https://civic-media.oss-cn-shanghai.aliyuncs.com", "scheme"),
    ("s3://Civic_Media", "bucket name"),
    ("s3://ab", "bucket name"),
    ("s3://civic/../etc", "prefix"),
    ("s3://civic//double", "prefix"),
    ("s3://civic?endpiont=https://x", "unknown option 'endpiont'"),
    ("s3://civic?region=a&region=b", "given twice"),
    ("s3://civic?endpoint=oss-cn-shanghai.aliyuncs.com", "endpoint"),
    ("s3://civic?endpoint=ftp://host", "endpoint"),
    ("s3://civic?endpoint=https://host/path", "endpoint"),
    ("s3://civic?region=Shanghai East", "region"),
    ("s3://civic?addressing=dns", "addressing"),
])
def test_a_bad_media_url_is_refused_naming_the_setting_and_the_fault(url, names):
    with pytest.raises(ValueError) as e:
        parse_media_url(url)
    assert str(e.value).startswith(f"CIVIC_MEDIA_URL={url!r}: ") and names in str(e.value)


def test_no_module_makes_its_own_store():
    """Every store comes from media_store(), so CIVIC_MEDIA_URL reaches every upload and every
    serving route.  Only the factory makes one, the migrate command its explicit source folder, and
    the backup its backup folder's media (the app's store still comes from media_store())."""
    import ast
    from pathlib import Path

    civic = Path(__file__).resolve().parents[2] / "civic"
    allowed = {"civic/core/storage/__init__.py", "civic/core/cli.py", "civic/core/backup.py"}
    makers = []
    for path in sorted(civic.rglob("*.py")):
        rel = path.relative_to(civic.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in (
                    "MediaStore", "S3MediaStore") and rel not in allowed:
                makers.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and node.slice.value == "MEDIA_DIR" and rel not in allowed | {"civic/__init__.py"}:
                makers.append(f"{rel}:{node.lineno} reads MEDIA_DIR")
    assert makers == []


def test_without_civic_keys_the_standard_aws_chain_is_used(app, bucket, monkeypatch):
    # No CIVIC_MEDIA_ACCESS_KEY/SECRET_KEY and no region: the SDK's own chain and default region.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "MEDIA_URL",
                        f"s3://{bucket.name}/chain?endpoint={bucket.server.endpoint}&addressing=path")
    monkeypatch.setitem(app.config, "MEDIA_ACCESS_KEY", None)
    monkeypatch.setitem(app.config, "MEDIA_SECRET_KEY", None)
    key = media_store().put(b"from the chain", "jpg")
    assert bucket.objects() == {f"chain/{key}": b"from the chain"}
