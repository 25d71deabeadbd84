"""Backups that restore (``flask civic backup <dir>``, ``flask civic restore <dir>``; issue #17 point 8).

A backup is one folder::

    <dir>/manifest.json      written last: a folder without it is not a backup
    <dir>/database.dump      PostgreSQL: pg_dump's custom format (pg_restore reads it)
    <dir>/database.sqlite3   or SQLite: a copy made by SQLite's online backup API
    <dir>/media/aa/bb/<sha256>.<ext>   every stored file, laid out as the filesystem store

The manifest (:data:`FORMAT`) records when and from what it was made (civic's version, the Alembic
revision, the database's dialect), the dump's file name, size and sha256, the row count of every
table, and every media key with its size, and which keys the database refers to.

**Why commands of the app and not shell scripts.**  Both ends need what only the app knows: the
settings (``CIVIC_DATABASE_URL``, ``CIVIC_MEDIA_URL`` and its credentials), the media store behind
them (a folder or a bucket, :func:`civic.core.storage.media_store`), and which columns hold media keys
(``info={"media": kind}``, :mod:`civic.core.media`).  A script would repeat the settings' parsing and
could not say whether the restored database finds every photo.  The database itself is still dumped
and restored by PostgreSQL's own ``pg_dump`` and ``pg_restore``.

**Consistency.**  On PostgreSQL the dump, the row counts and the referenced keys come from one
snapshot: a ``REPEATABLE READ`` transaction exports its snapshot (``pg_export_snapshot``) and
``pg_dump --snapshot`` reads exactly what the transaction reads.  On SQLite they are read from the
copy.  Media are copied after the database: the photo pipeline stores a file before the row naming it
is committed, and keys are never rewritten, so every file the dump refers to is already in the store
(a file deleted in between is reported as missing, and the backup fails).

**Restore** (:func:`restore`) refuses a target database that has any table unless forced, checks the
dump's sha256, runs ``pg_restore`` in one transaction (or SQLite's backup API the other way), compares
every table's row count with the manifest, copies the media into the app's store (folder or bucket)
reading every key back and comparing its sha256 with the key, and finally checks that every key the
restored database refers to is in the store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from civic.core.errors import Conflict, NotFound
from civic.core.storage import MediaStore, copy_store, digest_of, is_key, media_store
from civic.extensions import db

FORMAT = "civic-backup/1"
MANIFEST = "manifest.json"
DUMP_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}

POSTGIS_SCHEMA = "postgis"  # the schema migration 0023_spatial installs PostGIS in


def _civic_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("civic")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without installing
        return "unknown"


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file, read 1 MiB at a time."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- what the database holds ----------------------------------------------------------------------

def media_columns() -> dict[tuple[str, str], str]:
    """Every column holding stored files' keys: ``{(table, column): kind}`` (``info={"media": kind}``)."""
    return {(t.name, c.name): c.info["media"] for t in db.metadata.sorted_tables for c in t.columns
            if c.info.get("media")}


def _keys_in(value) -> set[str]:
    # A key column holds the key; a JSON list of stored photos holds it in display_key/thumb_key.
    if isinstance(value, str):
        if is_key(value):
            return {value}
        if value[:1] in "[{":
            try:
                return _keys_in(json.loads(value))
            except ValueError:
                return set()
        return set()
    if isinstance(value, dict):
        return set().union(*(_keys_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_keys_in(v) for v in value)) if value else set()
    return set()


def referenced_keys(conn: sa.Connection) -> dict[str, set[str]]:
    """Every media key the database refers to, by media kind: ``{kind: {key}}``, read through ``conn``
    from the columns :func:`media_columns` names (in the tables that exist there)."""
    present = set(sa.inspect(conn).get_table_names())
    out: dict[str, set[str]] = {}
    for (table, column), kind in media_columns().items():
        if table not in present:
            continue
        col = db.metadata.tables[table].c[column]
        for value in conn.execute(sa.select(col).where(col.is_not(None))).scalars():
            out.setdefault(kind, set()).update(_keys_in(value))
    return out


def table_counts(conn: sa.Connection) -> dict[str, int]:
    """The row count of every table of civic's metadata present through ``conn``, by name."""
    present = set(sa.inspect(conn).get_table_names())
    return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in db.metadata.sorted_tables if t.name in present}


def _revision(conn: sa.Connection) -> str | None:
    try:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DatabaseError:
        return None


def _facts(conn: sa.Connection) -> dict:
    refs = referenced_keys(conn)
    return {"alembic_revision": _revision(conn), "tables": table_counts(conn),
            "referenced": sorted(set().union(*refs.values())) if refs else [],
            "referenced_by_kind": {k: len(v) for k, v in sorted(refs.items())}}


# --- PostgreSQL and SQLite ------------------------------------------------------------------------

def _dialect(engine: sa.Engine) -> str:
    name = engine.dialect.name
    if name not in DUMP_FILES:
        raise Conflict(f"不支持备份 {name} 数据库（仅 PostgreSQL 与 SQLite）", code="backup_unsupported_database")
    return name


def _libpq(engine: sa.Engine) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``pg_dump``/``pg_restore`` and their environment: the password goes
    in ``PGPASSWORD``, never on the command line (where ``ps`` shows it)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Conflict(f"找不到 {name}：请安装与数据库同一主版本的 PostgreSQL 客户端（如 postgresql-client-15）",
                       code="backup_tool_missing")
    return path


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed tools, no shell
    if done.returncode != 0:
        lines = [x for x in (done.stderr or done.stdout).splitlines() if x.strip()]
        raise Conflict(f"{what}失败：{lines[0] if lines else f'退出码 {done.returncode}'}"
                       f"{f'（共 {len(lines)} 行错误）' if len(lines) > 1 else ''}", code="backup_tool_failed")


def _dump_postgresql(engine: sa.Engine, path: Path) -> dict:
    uri, env = _libpq(engine)
    pg_dump = _tool("pg_dump")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                            postgresql_readonly=True) as conn, conn.begin():
        snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
        # The PostGIS extension's own schema (migration 0023_spatial) is not civic's data: the dump
        # keeps only its CREATE EXTENSION, and restore makes the schema it goes in.
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={path}", f"--dbname={uri}",
              f"--exclude-schema={POSTGIS_SCHEMA}"],
             env, "pg_dump ")
        return _facts(conn)


def _sqlite_path(engine: sa.Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise Conflict("只能备份文件中的 SQLite 数据库", code="backup_unsupported_database")
    return Path(name)


def _sqlite_copy(src: sqlite3.Connection, path: Path) -> None:
    """Copy the database open on ``src`` into the file ``path`` with SQLite's backup API, then close."""
    dst = sqlite3.connect(path)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _dump_sqlite(engine: sa.Engine, path: Path) -> dict:
    # SQLite's online backup API: a consistent copy while the app keeps writing (it restarts the copy
    # if a writer changes a page it already copied).
    _sqlite_copy(sqlite3.connect(_sqlite_path(engine)), path)
    copy = sa.create_engine(f"sqlite:///{path}")
    try:
        with copy.connect() as conn:
            facts = _facts(conn)
    finally:
        copy.dispose()
    # The copy carries WAL mode in its header (from the source, and civic's connect hook): switch it
    # back, so that the backup is one self-contained file that opens read-only.
    dst = sqlite3.connect(path)
    try:
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
    return facts


# --- backup ---------------------------------------------------------------------------------------

def backup(target: Path, *, app=None, workers: int = 8, link_from: Path | None = None) -> dict:
    """Write a backup of the app's database and media store into the folder ``target`` (made if
    missing; it must be empty) and return its manifest.

    :param link_from: an earlier backup folder on the same filesystem: each file it holds intact
        (its sha256 still matching its key) is hard-linked instead of copied, so daily backups kept
        for weeks store each photo once (keys never change: a key is its content's hash).

    :raises Conflict: ``backup_target_not_empty``; ``backup_unsupported_database``;
        ``backup_tool_missing`` / ``backup_tool_failed`` (pg_dump); ``backup_media_failed``: a file
        could not be copied or read back intact, or a key the database refers to is not in the store
        (the folder is kept, with the manifest listing them under ``media.failed`` / ``media.missing``).
    """
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise Conflict(f"备份目录 {target} 不是空的：每次备份请用新目录", code="backup_target_not_empty")
    target.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    engine = db.engine
    dialect = _dialect(engine)
    dump = target / DUMP_FILES[dialect]
    facts = _dump_postgresql(engine, dump) if dialect == "postgresql" else _dump_sqlite(engine, dump)

    source = media_store(app)
    folder = MediaStore(target / "media")
    listing = list(source.iter_keys())
    linked = _link_unchanged(listing, Path(link_from), folder) if link_from else 0
    report = copy_store(source, folder, workers=workers, keys=listing)
    copied = {k for k in folder.iter_keys()} - {k for k, _ in report.failed}
    missing = sorted(set(facts["referenced"]) - copied)
    keys = [{"key": k, "size": folder.head(k).size} for k in sorted(copied)]
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "civic_version": _civic_version(),
        "alembic_revision": facts["alembic_revision"],
        "database": {"dialect": dialect, "file": dump.name, "size": dump.stat().st_size,
                     "sha256": sha256_file(dump)},
        "tables": facts["tables"],
        "media": {
            "source": repr(source) if not isinstance(source, MediaStore) else "filesystem",
            "count": len(keys),
            "bytes": sum(k["size"] for k in keys),
            "linked_from": str(link_from) if link_from else None,
            "linked": linked,
            "referenced": len(facts["referenced"]),
            "referenced_by_kind": facts["referenced_by_kind"],
            "missing": missing,
            "failed": [{"key": k, "reason": why} for k, why in report.failed],
            "keys": keys,
        },
    }
    _write_json(target / MANIFEST, manifest)
    if missing or report.failed:
        first = missing[0] if missing else report.failed[0][0]
        raise Conflict(f"备份已写入 {target}，但 {len(missing)} 个被数据库引用的文件在存储中缺失、"
                       f"{len(report.failed)} 个文件复制或校验失败（首个 {first}）；见 manifest.json",
                       code="backup_media_failed")
    return manifest


def _link_unchanged(keys: list[str], previous: Path, folder: MediaStore) -> int:
    read_manifest(previous)  # an unfinished or foreign folder is refused
    earlier = MediaStore(previous / "media")
    linked = 0
    for key in keys:
        path = earlier.path(key)
        if path.is_file() and sha256_file(path) == digest_of(key):
            dest = folder.path(key)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)
            linked += 1
    return linked


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_manifest(source: Path) -> dict:
    """The manifest of the backup folder ``source``.

    :raises NotFound: ``backup_not_found``: no ``manifest.json`` (not a backup, or one that did not
        finish).  :raises Conflict: ``backup_format_unknown``.
    """
    path = Path(source) / MANIFEST
    if not path.is_file():
        raise NotFound(f"{source} 中没有 {MANIFEST}：不是备份目录，或备份未完成", code="backup_not_found")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise Conflict(f"不认识的备份格式 {manifest.get('format')!r}（应为 {FORMAT}）", code="backup_format_unknown")
    return manifest


# --- restore --------------------------------------------------------------------------------------

@dataclass
class RestoreReport:
    """What :func:`restore` did."""

    alembic_revision: str | None
    tables: int
    rows: int
    media_total: int = 0
    media_copied: int = 0
    media_skipped: int = 0
    referenced: int = 0
    referenced_by_kind: dict[str, int] = field(default_factory=dict)  # every registered media kind
    replaced: list[str] = field(default_factory=list)  # tables dropped first (with force)


def _drop_everything(engine: sa.Engine) -> list[str]:
    """Drop every table (and on PostgreSQL every function of the schema, e.g. the audit log's trigger
    function) of the target database; returns the tables' names."""
    meta = sa.MetaData()
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # SQLite's R*Tree tables (migration 0024_rtree) go first, taking their shadow tables
            # with them: reflected and dropped one by one, a shadow table would be dropped twice.
            for (name,) in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                "AND sql LIKE 'CREATE VIRTUAL TABLE%'")).all():
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))
        meta.reflect(conn)
        names = [t.name for t in meta.sorted_tables]
        if engine.dialect.name == "postgresql":
            for name in names:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
            for (sig,) in conn.execute(sa.text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = current_schema() AND p.prokind = 'f' AND NOT EXISTS "
                    "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")):  # not an extension's
                conn.execute(sa.text(f"DROP FUNCTION IF EXISTS {sig} CASCADE"))
        else:
            conn.execute(sa.text("PRAGMA foreign_keys = OFF"))
            meta.drop_all(conn)
    return names


def restore(source: Path, *, app=None, force: bool = False, workers: int = 8) -> RestoreReport:
    """Restore the backup folder ``source`` into the app's database and media store.

    :param force: drop every table of a target database that has any first (its data is lost).
    :raises NotFound: ``backup_not_found``.
    :raises Conflict: ``backup_format_unknown``; ``backup_damaged`` (the dump's sha256 differs from the
        manifest's, or a media file the manifest lists is not in the folder); ``backup_dialect_mismatch``
        (a SQLite backup into PostgreSQL or the other way); ``restore_target_not_empty`` (the target
        database has tables, without ``force``); ``backup_tool_missing`` / ``backup_tool_failed``
        (pg_restore: nothing is left half-restored, it runs in one transaction);
        ``restore_check_failed`` (a table's row count differs from the manifest's, a media file could
        not be copied or read back with its sha256, or a key the restored database refers to is not in
        the store).
    """
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    source = Path(source)
    manifest = read_manifest(source)
    dump = source / manifest["database"]["file"]
    if not dump.is_file() or sha256_file(dump) != manifest["database"]["sha256"]:
        raise Conflict(f"备份已损坏：{dump.name} 缺失或其 sha256 与清单不符", code="backup_damaged")
    folder = MediaStore(source / "media")
    listed = {k["key"]: k["size"] for k in manifest["media"]["keys"]}
    # The whole backup is checked before anything is changed: a restore that stopped at a damaged
    # photo would leave a database whose photos are not there.
    damaged = sorted(k for k, size in listed.items() if not _intact(folder, k, size))
    if damaged:
        raise Conflict(f"备份已损坏：清单中的 {len(damaged)} 个媒体文件缺失，或大小、sha256 与键不符"
                       f"（首个 {damaged[0]}）", code="backup_damaged")
    revision = manifest.get("alembic_revision")
    known = _known_revisions(app)
    if revision and known is not None and revision not in known:
        raise Conflict(f"备份的数据库版本 {revision} 不在本版 civic 的迁移中（备份来自更新的 civic "
                       f"{manifest.get('civic_version')}）：请用该版本恢复", code="backup_revision_unknown")
    engine = db.engine
    dialect = _dialect(engine)
    if dialect != manifest["database"]["dialect"]:
        raise Conflict(f"这是 {manifest['database']['dialect']} 数据库的备份，不能恢复到 {dialect}",
                       code="backup_dialect_mismatch")

    db.session.remove()
    engine.dispose()
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()
    replaced: list[str] = []
    if tables:
        if not force:
            raise Conflict(f"目标数据库不是空的（已有 {len(tables)} 张表）：请恢复到新建的空数据库，"
                           "或加 --force 删除其中所有表后恢复", code="restore_target_not_empty")
        replaced = _drop_everything(engine)
        engine.dispose()
    if dialect == "postgresql":
        with engine.begin() as conn:  # where the dump's CREATE EXTENSION puts PostGIS (kept by a --force drop)
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {POSTGIS_SCHEMA}"))
        engine.dispose()
        uri, env = _libpq(engine)
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={uri}", str(dump)], env, "pg_restore ")
    else:
        _restore_sqlite(dump, _sqlite_path(engine))
    engine.dispose()

    with engine.connect() as conn:
        counts = table_counts(conn)
    wrong = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if wrong:
        t, (want, have) = next(iter(sorted(wrong.items())))
        raise Conflict(f"恢复后 {len(wrong)} 张表的行数与备份不符（首个 {t}：应为 {want}，实为 {have}）",
                       code="restore_check_failed")

    store = media_store(app)
    report = copy_store(folder, store, workers=workers, keys=list(listed))
    if report.failed:
        key, why = report.failed[0]
        raise Conflict(f"媒体恢复后 {len(report.failed)} 个文件校验失败（首个 {key}：{why}）；数据库已恢复，"
                       "排除存储的故障后可加 --force 重新恢复", code="restore_check_failed")
    with engine.connect() as conn:
        refs = referenced_keys(conn)
    referenced = set().union(*refs.values()) if refs else set()
    lost = sorted(k for k in referenced if k not in listed and not store.exists(k))
    if lost:
        raise Conflict(f"恢复后的数据库引用的 {len(lost)} 个文件不在媒体存储中（首个 {lost[0]}）",
                       code="restore_check_failed")
    from civic.core.media import kinds

    return RestoreReport(alembic_revision=manifest["alembic_revision"], tables=len(counts), rows=sum(counts.values()),
                         media_total=report.total, media_copied=report.copied, media_skipped=report.skipped,
                         referenced=len(referenced),
                         referenced_by_kind={k: len(refs.get(k, ())) for k in sorted(set(kinds()) | set(refs))},
                         replaced=replaced)


def _intact(folder: MediaStore, key: str, size: int) -> bool:
    path = folder.path(key)
    return path.is_file() and path.stat().st_size == size and sha256_file(path) == digest_of(key)


def _known_revisions(app) -> set[str] | None:
    """Every Alembic revision this code's migrations know, or None where there are none to read."""
    migrate = app.extensions.get("migrate")
    if migrate is None:
        return None
    from alembic.script import ScriptDirectory

    with app.app_context():
        script = ScriptDirectory.from_config(migrate.migrate.get_config())
        return {r.revision for r in script.walk_revisions()}


def head_revision(app) -> str | None:
    """The newest revision of this code's migrations (what ``flask db upgrade`` brings a database to)."""
    migrate = app.extensions.get("migrate")
    if migrate is None:
        return None
    from alembic.script import ScriptDirectory

    with app.app_context():
        return ScriptDirectory.from_config(migrate.migrate.get_config()).get_current_head()


def _restore_sqlite(dump: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _sqlite_copy(sqlite3.connect(f"file:{dump}?mode=ro", uri=True), path)


__all__ = ["FORMAT", "RestoreReport", "backup", "head_revision", "media_columns", "read_manifest",
           "referenced_keys", "restore", "table_counts"]
