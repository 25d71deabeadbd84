"""``flask civic ...``: the command group, and the core's own commands (workers, scheduler).

Each domain adds its commands to :data:`civic_cli` in its own ``cli.py`` (accounts: create-admin;
property: the registry imports; village: open data; :mod:`civic.demo`: seed-demo), imported by
:func:`civic.create_app`.  The core's own: ``tick``, ``worker``, ``media migrate``, ``backup``, ``restore``.

A command given a state it cannot act on (the demo already loaded, an existing username, a file it
cannot write) answers in one line on stderr, ``错误 <code>: <message>``, and exits with status 1:
never a traceback.  Commands raise a :class:`~civic.core.errors.CivicError` for the states they
know; the group (:class:`CivicGroup`) turns those, and the two kinds of state error a command may
meet without knowing (a uniqueness conflict in the database, a file the system refuses), into
that line.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import sqlalchemy.exc
from flask import current_app, has_app_context
from flask.cli import AppGroup

from civic.core.errors import CivicError, ValidationFailed
from civic.extensions import db


def fail(exc: CivicError):
    """End a command on a domain error: ``错误 <code>: <message>`` on one line of stderr (a CSV
    import's line errors follow it, one per line), the session rolled back, exit status 1."""
    click.echo(f"错误 {exc.code}: {exc.message}", err=True)
    for e in exc.details.get("errors", []):
        click.echo(f"  第 {e['line']} 行 {e.get('column') or ''}: {e['reason']}", err=True)
    _rollback()
    sys.exit(1)


def read_text(path: str, encoding: str = "utf-8-sig") -> str:
    """A command's input file as text (UTF-8; Excel's byte-order mark dropped by default).

    :raises ValidationFailed: ``file_not_utf8`` (one line, through :func:`fail`)."""
    try:
        with open(path, encoding=encoding) as f:
            return f.read()
    except UnicodeDecodeError:
        raise ValidationFailed(f"文件不是 UTF-8 文本：{path}", code="file_not_utf8", details={"path": path}) from None


def _rollback():
    # Called inside a command, or by the group after the command's app context ended (whose
    # teardown already removed the session).
    if has_app_context():
        db.session.rollback()


def _one_line(code: str, message: str):
    click.echo(f"错误 {code}: {' '.join(str(message).split())}", err=True)
    _rollback()
    sys.exit(1)


class CivicGroup(AppGroup):
    """The ``flask civic`` group: every subcommand's state errors end in one line, exit status 1.

    * :class:`CivicError` (what commands raise for states they know): its code and message.
    * ``sqlalchemy.exc.IntegrityError``: ``state_conflict`` (the row exists already; nothing written).
    * ``OSError`` (a path the system refuses): ``file_error`` with the system's reason and the path.

    Exit status 1 in each case: the command did not do what it was asked.  (A wrong option or
    argument is click's own usage error, status 2.)
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CivicError as exc:
            fail(exc)
        except sqlalchemy.exc.IntegrityError as exc:
            _one_line("state_conflict", f"与已有数据冲突，未作任何改动（{str(exc.orig).splitlines()[0]}）")
        except OSError as exc:
            _one_line("file_error", f"无法读写文件：{exc.strerror or exc}（{exc.filename or ''}）")


civic_cli = CivicGroup("civic", help="civic administration commands")


@civic_cli.command("tick")
def tick_once():
    """Run due periodic and deferred jobs once (cron-friendly)."""
    from civic.core.jobs import tick

    click.echo(json.dumps(tick(), ensure_ascii=False))


@civic_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker(burst):
    """An RQ worker (with RQ's scheduler, for retries) running jobs inside the app context, plus the
    periodic tick (not with --burst), which also relays the job outbox.  It relays the outbox once
    when it starts, so ``worker --burst`` runs every job a Redis outage held back.  Needs
    CIVIC_REDIS_URL."""
    import threading

    from rq import SimpleWorker

    from civic.core.jobs import QUEUE_NAME, redis_connection, tick
    from civic.core.outbox import relay
    from civic.core.queue import burst_worker

    if not current_app.config.get("REDIS_URL"):
        from civic.core.errors import Conflict

        raise Conflict("未设置 CIVIC_REDIS_URL：默认部署在进程内运行任务，无需 worker", code="redis_not_configured")
    app = current_app._get_current_object()
    stop = threading.Event()

    def ticker():
        while not stop.wait(app.config["SCHEDULER_TICK_SECONDS"]):
            with app.app_context():
                try:
                    tick()
                except Exception:
                    app.logger.exception("tick failed")
                    db.session.rollback()

    if not burst:
        threading.Thread(target=ticker, daemon=True, name="civic-tick").start()
        # The blur job's two networks (≈ 1 s, ≈ 60 MB) are loaded once here, so a worker's first blur
        # job is as fast as the rest (docs/blur.md); the worker runs jobs in this process (SimpleWorker).
        try:
            from civic.core.networks import preload

            preload()
        except Exception:
            app.logger.exception("the blur networks could not be loaded; blur jobs will fail and retry")
    # First the outbox rows a Redis outage (or a stopped worker) left behind; the tick relays them
    # from then on.  With --burst this is the only relay: the queue then holds everything due.
    relay()
    # SimpleWorker runs each job in this process instead of a fork: a forked work horse would
    # share the parent's database connections.  run_job gives every job its own app context and
    # session.
    w = burst_worker() if burst else SimpleWorker([QUEUE_NAME], connection=redis_connection())
    try:
        w.work(burst=burst, with_scheduler=not burst, logging_level="INFO")
    finally:
        stop.set()


@civic_cli.group("media")
def media_group():
    """The media store (photos, scans, vouchers): moving it into a bucket."""


@media_group.command("migrate")
@click.option("--from", "source", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The filesystem store to copy (default: MEDIA_DIR).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Files copied and checked at once.")
@click.option("--overwrite", is_flag=True,
              help="Copy every file, also those the bucket holds already (to repair objects the check found damaged).")
def media_migrate(source, workers, overwrite):
    """Copy a filesystem store into the bucket of CIVIC_MEDIA_URL, then check every key.

    Keys already in the bucket with the same size and sha256 are skipped (unless --overwrite), so a
    run that stopped part-way can be repeated.  Every key is then read back and its sha256 compared
    with the key.  Prints one line; exits 1 with one line (错误 media_check_failed: …) if any key
    failed: a damaged object in the bucket is repaired by a run with --overwrite, a damaged file in
    the folder is not copied at all (restore it from a backup).
    """
    from civic.core.errors import Conflict, NotFound
    from civic.core.storage import MediaStore, copy_store, media_store

    if not current_app.config.get("MEDIA_URL"):
        raise Conflict("未设置 CIVIC_MEDIA_URL：没有可迁入的存储桶", code="media_url_not_configured")
    root = source or Path(current_app.config["MEDIA_DIR"])
    if not root.is_dir():
        raise NotFound(f"找不到媒体目录 {root}", code="media_dir_missing")
    target = media_store()
    report = copy_store(MediaStore(root), target, workers=workers, overwrite=overwrite)
    if report.failed:
        key, why = report.failed[0]
        raise Conflict(f"共 {report.total} 个文件，{len(report.failed)} 个校验失败（首个 {key}：{why}），"
                       f"复制 {report.copied} 个，跳过 {report.skipped} 个；存储桶中损坏的对象可用 --overwrite 重新复制",
                       code="media_check_failed")
    loc = target.location
    click.echo(f"迁移完成：{root} → s3://{loc.bucket}{'/' + loc.prefix if loc.prefix else ''}，共 {report.total} 个文件，复制 {report.copied} 个，"
               f"已存在跳过 {report.skipped} 个，{report.verified} 个全部校验通过")


@civic_cli.command("backup")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Media files copied and checked at once.")
@click.option("--link-from", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="An earlier backup folder on the same filesystem: its intact files are hard-linked, not copied.")
def backup_command(target, workers, link_from):
    """Back up the database and the media store into the new folder TARGET.

    PostgreSQL: pg_dump's custom format, from one snapshot; SQLite: SQLite's online backup API.
    Every media file (folder or bucket) is copied into TARGET/media and read back.  manifest.json,
    written last, records the time, civic's version, the Alembic revision, the dump's sha256, every
    table's row count and every media key with its size.  Exits 1 with one line if a file the
    database refers to is not in the store (the backup is kept).  See docs/deploy.md, "Backups".
    """
    from civic.core.backup import backup

    m = backup(target, workers=workers, link_from=link_from)
    db_ = m["database"]
    linked = f"（其中 {m['media']['linked']} 个硬链接自 {link_from}）" if link_from else ""
    click.echo(f"备份完成：{target}，{db_['dialect']} 数据库 {db_['file']}（{db_['size']} 字节，"
               f"sha256 {db_['sha256'][:12]}…，{len(m['tables'])} 张表 {sum(m['tables'].values())} 行，"
               f"版本 {m['alembic_revision']}），媒体文件 {m['media']['count']} 个 {m['media']['bytes']} 字节"
               f"{linked}，"
               f"数据库引用的 {m['media']['referenced']} 个全部在内")


@civic_cli.command("restore")
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Drop every table of a target database that is not empty (its data is lost).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Media files copied and checked at once.")
def restore_command(source, force, workers):
    """Restore the backup folder SOURCE into the database and media store of this app's settings.

    Refuses a database that has any table (unless --force); checks the dump's sha256; runs
    pg_restore in one transaction (or SQLite's backup API); compares every table's row count with
    the manifest; copies the media into the folder or bucket, reading each key back and checking its
    sha256; then checks that every key the database refers to is in the store.  Then run
    `flask db upgrade` if this code is newer than the backup.
    """
    from civic.core.backup import head_revision, restore

    r = restore(source, force=force, workers=workers)
    head = head_revision(current_app)
    click.echo(f"恢复完成：{source} → 数据库 {r.tables} 张表 {r.rows} 行（版本 {r.alembic_revision}"
               f"{f'，先删除了原有 {len(r.replaced)} 张表' if r.replaced else ''}），媒体文件 {r.media_total} 个"
               f"（复制 {r.media_copied} 个，已存在 {r.media_skipped} 个）全部校验通过，"
               f"数据库引用的 {r.referenced} 个文件全部在存储中"
               f"（{'，'.join(f'{k} {n}' for k, n in r.referenced_by_kind.items())}）"
               f"{f'；本版代码的数据库版本为 {head}，请运行 flask db upgrade' if head and head != r.alembic_revision else ''}")
