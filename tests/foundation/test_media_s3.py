"""Moving media into a bucket and starting with one (issue #17 point 1), against a real S3 server the
tests start (moto, tests/s3.py): ``flask civic media migrate`` copies a filesystem store key for key and
reads every key back; a CIVIC_MEDIA_URL that cannot work stops civic at start-up, naming the setting."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civic import create_app
from civic.core.photos import process_photos
from civic.core.storage import MediaStore, digest_of
from tests.complaints.helpers import jpeg
from tests.foundation.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def source(tmp_path):
    """A filesystem store holding two processed photos (display copy and thumbnail each) and a
    leftover temporary file that is no key."""
    store = MediaStore(tmp_path / "media")
    process_photos([("a.jpg", jpeg(w=640, h=480)), ("b.jpg", jpeg(w=500, h=400, colour=(9, 9, 9)))], store=store)
    (store.root / "00").mkdir()
    (store.root / "00" / ".tmp-abc").write_bytes(b"half a write")
    return store


@pytest.fixture
def to_bucket(app, bucket, monkeypatch):
    for name, value in bucket.config("civic").items():
        monkeypatch.setitem(app.config, name, value)
    return bucket


def migrate(runner, *args):
    return runner.invoke(args=["civic", "media", "migrate", *args])


def one_line_error(result, code):
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"错误 {code}: ")
    return lines[0]


def test_migrate_copies_every_key_and_checks_it(runner, source, to_bucket):
    keys = list(source.iter_keys())
    assert len(keys) == 4

    result = migrate(runner, "--from", str(source.root))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"迁移完成：{source.root} → s3://{to_bucket.name}/civic，共 4 个文件，复制 4 个，已存在跳过 0 个，4 个全部校验通过"]
    objects = to_bucket.objects()
    assert objects == {f"civic/{k}": source.open(k) for k in keys}
    assert all(hashlib.sha256(objects[f"civic/{k}"]).hexdigest() == digest_of(k) for k in keys)


def test_migrate_again_skips_what_is_there_and_copies_what_is_new(runner, source, to_bucket):
    assert migrate(runner, "--from", str(source.root)).exit_code == 0
    new = source.put(b"a late voucher scan", "jpg")

    result = migrate(runner, "--from", str(source.root))

    assert result.exit_code == 0, result.output
    assert "共 5 个文件，复制 1 个，已存在跳过 4 个，5 个全部校验通过" in result.stdout
    assert f"civic/{new}" in to_bucket.objects()


def test_migrate_reads_media_dir_by_default(runner, app, source, to_bucket, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_DIR", str(source.root))
    result = migrate(runner)
    assert result.exit_code == 0 and "复制 4 个" in result.stdout


def test_an_object_damaged_in_the_bucket_fails_the_check_and_overwrite_repairs_it(runner, source, to_bucket):
    assert migrate(runner, "--from", str(source.root)).exit_code == 0
    key = list(source.iter_keys())[1]
    good = source.open(key)
    to_bucket.put_raw(f"civic/{key}", bytes([good[0] ^ 0xFF]) + good[1:])  # same size, one byte flipped

    line = one_line_error(migrate(runner, "--from", str(source.root)), "media_check_failed")
    assert f"共 4 个文件，1 个校验失败（首个 {key}：读回内容的 sha256 与键不符）" in line

    result = migrate(runner, "--from", str(source.root), "--overwrite")
    assert result.exit_code == 0, result.output
    assert "复制 4 个" in result.stdout and to_bucket.objects()[f"civic/{key}"] == good


def test_a_damaged_file_in_the_folder_is_not_copied_and_fails_the_check(runner, source, to_bucket):
    key = list(source.iter_keys())[0]
    source.path(key).write_bytes(b"bit rot")

    line = one_line_error(migrate(runner, "--from", str(source.root)), "media_check_failed")

    assert f"1 个校验失败（首个 {key}：源文件内容与其键不符）" in line and "复制 3 个" in line
    assert f"civic/{key}" not in to_bucket.objects() and len(to_bucket.objects()) == 3


def test_migrate_refuses_a_missing_folder(runner, tmp_path, to_bucket):
    one_line_error(migrate(runner, "--from", str(tmp_path / "nowhere")), "media_dir_missing")


def test_migrate_to_a_bucket_out_of_reach_is_one_line(runner, app, source, to_bucket, monkeypatch):
    dead = to_bucket.url("civic").replace(to_bucket.server.endpoint, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "MEDIA_URL", dead)
    line = one_line_error(migrate(runner, "--from", str(source.root)), "media_unavailable")
    assert "EndpointConnectionError" in line


# --- start-up ----------------------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("CIVIC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CIVIC_INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.mark.parametrize("env", ["development", "production"])
def test_a_bad_media_url_stops_start_up_naming_the_setting(clean_env, monkeypatch, env):
    monkeypatch.setenv("CIVIC_ENV", env)
    monkeypatch.setenv("CIVIC_SECRET_KEY", "a-real-secret-for-this-test")
    monkeypatch.setenv("CIVIC_MEDIA_URL", "s3://civic-media?endpoint=oss-cn-shanghai.aliyuncs.com")
    with pytest.raises(RuntimeError) as e:
        create_app()
    assert str(e.value).startswith("CIVIC_MEDIA_URL='s3://civic-media?endpoint=oss-cn-shanghai.aliyuncs.com': "
                                   "endpoint 'oss-cn-shanghai.aliyuncs.com' must be http(s)://host[:port]")


def test_one_media_key_without_the_other_stops_start_up(clean_env, monkeypatch):
    monkeypatch.setenv("CIVIC_MEDIA_URL", "s3://civic-media?region=cn-shanghai")
    monkeypatch.setenv("CIVIC_MEDIA_ACCESS_KEY", "LTAI5tExample")
    with pytest.raises(RuntimeError, match="CIVIC_MEDIA_ACCESS_KEY and CIVIC_MEDIA_SECRET_KEY must be set together"):
        create_app()


def test_a_good_media_url_starts_in_production_with_numeric_looking_keys(clean_env, monkeypatch, bucket, make_app):
    monkeypatch.setenv("CIVIC_ENV", "production")
    monkeypatch.setenv("CIVIC_SECRET_KEY", "a-real-secret-for-this-test")
    for name, value in {"WECHAT_ADAPTER": "wechat", "NOTIFY_ADAPTER": "wechat", "WECHAT_APPID": "wx0123456789abcdef",
                        "WECHAT_SECRET": "a-wechat-secret", "SMS_ADAPTER": "none"}.items():
        monkeypatch.setenv(f"CIVIC_{name}", value)  # production takes no development part (civic.core.parts)
    monkeypatch.setenv("CIVIC_MEDIA_URL", bucket.url("p"))
    monkeypatch.setenv("CIVIC_MEDIA_ACCESS_KEY", "12345678")
    monkeypatch.setenv("CIVIC_MEDIA_SECRET_KEY", "87654321")
    app = make_app({"MEDIA_DIR": None})
    assert app.config["ENV"] == "production"
    assert app.config["MEDIA_ACCESS_KEY"] == "12345678"  # text, not the number JSON would make of it
    assert app.config["MEDIA_URL"] == bucket.url("p")


def test_the_wsgi_entry_point_refuses_to_start_in_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update(CIVIC_INSTANCE_PATH=str(tmp_path), CIVIC_MEDIA_URL="oss://civic-media")
    run = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == (
        "RuntimeError: CIVIC_MEDIA_URL='oss://civic-media': the scheme must be s3:// (expected "
        "s3://<bucket>[/<prefix>][?endpoint=https://…&region=…&addressing=virtual|path])")
