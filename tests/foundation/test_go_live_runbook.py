"""The go-live runbook (docs/go-live.md) runs as written.

Every block marked ``<!-- runbook: run -->`` is executed in order by one bash (``set -euo
pipefail``), as an operator would on the server: civic installed from a wheel into a folder of its
own (not the source tree), ``CIVIC_ENV=production`` with the settings of the runbook's step 2
(vendor keys that are never called), the example files of docs/go-live/ beside it, fresh databases.
In CI's first run on SQLite files; in its second on two new PostgreSQL databases and a Redis
database of their own.  The steps done through the API are tested by test_street_from_nothing.py.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "go-live.md"
RUN = re.compile(r"<!-- runbook: run -->\s*```sh\n(.*?)```", re.S)
ADMIN_PASSWORD = "Runbook-admin-2026"


def _blocks() -> list[str]:
    return RUN.findall(RUNBOOK.read_text(encoding="utf-8"))


def test_the_runbook_marks_the_steps_it_runs():
    blocks = _blocks()
    assert len(blocks) == 8
    text = "\n".join(blocks)
    for command in ("db upgrade", "create-admin", "import-places", "import-organisations", "import-staff",
                    "import-residents", "gunicorn", "civic backup", "civic restore"):
        assert command in text, command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def databases():
    """Two empty databases (the server's and the restore drill's) and a Redis URL, or SQLite files
    and no Redis; dropped afterwards."""
    pg = os.environ.get("CIVIC_TEST_DATABASE_URL")
    if not pg:
        yield None, None, None
        return
    import psycopg

    names = [f"civic_runbook_{uuid.uuid4().hex[:8]}_{n}" for n in ("live", "restored")]
    with psycopg.connect(pg, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg)
    urls = [urlunsplit(parts._replace(path=f"/{name}")) for name in names]
    redis = urlsplit(os.environ["CIVIC_TEST_REDIS_URL"])
    redis_url = urlunsplit(redis._replace(path="/12"))  # not the suite's: its worker must not run these jobs
    try:
        yield urls[0], urls[1], redis_url
    finally:
        with psycopg.connect(pg, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        import redis as redis_lib

        redis_lib.Redis.from_url(redis_url).flushdb()


def test_the_runbook_takes_an_empty_server_to_a_working_street(tmp_path, databases):
    live_url, restore_url, redis_url = databases
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                            "--target", str(site), str(REPO)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    assert (site / "civic" / "migrations" / "versions").is_dir()

    app_dir = tmp_path / "app"
    app_dir.mkdir()
    shutil.copy(REPO / "wsgi.py", app_dir)
    shutil.copytree(REPO / "docs" / "go-live", app_dir / "go-live")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIVIC_", "FLASK_"))}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(site),
        "CIVIC_ENV": "production",
        "CIVIC_SECRET_KEY": "runbook-" + uuid.uuid4().hex * 2,
        "CIVIC_INSTANCE_PATH": str(tmp_path / "instance"),
        "CIVIC_DATABASE_URL": live_url or f"sqlite:///{tmp_path / 'civic.db'}",
        "CIVIC_MEDIA_DIR": str(tmp_path / "media"),
        "CIVIC_WECHAT_ADAPTER": "wechat", "CIVIC_WECHAT_APPID": "wx0123456789abcdef",
        "CIVIC_WECHAT_SECRET": "runbook-secret", "CIVIC_NOTIFY_ADAPTER": "wechat",
        "CIVIC_WECHAT_TEMPLATE_IDS": '{"complaint_status": "runbook-template"}',
        "CIVIC_SMS_ADAPTER": "aliyun", "CIVIC_SMS_ACCESS_KEY_ID": "LTAI5trunbook",
        "CIVIC_SMS_ACCESS_KEY_SECRET": "runbook", "CIVIC_SMS_SIGN_NAME": "陆家嘴社区",
        "CIVIC_SMS_TEMPLATE": "SMS_154950909",
        "CIVIC_PORT": str(_free_port()),
        "BACKUP_ROOT": str(tmp_path / "backup"),
        "RESTORE_DATABASE_URL": restore_url or f"sqlite:///{tmp_path / 'restored.db'}",
        "RESTORE_MEDIA_DIR": str(tmp_path / "restored-media"),
        "PYTHONWARNINGS": "ignore",
    })
    if redis_url:
        env["CIVIC_REDIS_URL"] = redis_url
    (tmp_path / "backup").mkdir()
    script = "set -euo pipefail\n" + "\n".join(_blocks())
    # create-admin prompts for the password twice; it is the only command that reads stdin.
    done = subprocess.run(["bash", "-c", script], cwd=app_dir, env=env, input=f"{ADMIN_PASSWORD}\n" * 2,
                          capture_output=True, text=True, timeout=600)
    if (app_dir / "civic-web.pid").exists():  # a failure between start and kill: stop it
        subprocess.run(["bash", "-c", "kill $(cat civic-web.pid) 2>/dev/null || true"], cwd=app_dir)
    out = done.stdout
    assert done.returncode == 0, f"{out[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"

    import civic

    assert Path(civic.__file__).parent != site / "civic"  # the suite itself runs the source tree
    assert "administrator admin created" in out
    assert "imported 9 places" in out
    assert "imported 7 staff accounts, 7 memberships" in out
    assert "imported 4 links, 4 new residents" in out
    assert "ok {" in out and "'sms': 'aliyun'" in out
    dialect = "postgresql" if live_url else "sqlite"
    assert re.search(rf"备份完成：.*{dialect} 数据库", out), out
    assert "恢复完成" in out and "全部校验通过" in out
    passwords = (app_dir / "staff.passwords.csv").read_text(encoding="utf-8").splitlines()
    assert len(passwords) == 8 and passwords[0] == "username,display_name,one_time_password"
