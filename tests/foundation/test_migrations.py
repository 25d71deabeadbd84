"""The migrations build the schema from empty, agree with the models, and go down and up again."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from civic.core.db import include_in_autogenerate, is_index_table
from civic.extensions import db

REPO = Path(__file__).resolve().parents[2]


def test_models_and_migrations_agree(app):
    # The session app was built by `flask db upgrade` (conftest), on SQLite or PostgreSQL.
    # The same hook as migrations/env.py: SQLite's R*Tree tables are the migrations' own.
    with db.engine.connect() as conn, warnings.catch_warnings():
        # The PostGIS expression indexes are declared for PostgreSQL only (``ddl_if``), but Alembic
        # looks at every index of the metadata and says, on SQLite, that it skips them.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index "
                                          "'ix_(place_boundary|complaint_point|complaint_open_point)_gist'; dialect 'sqlite'")
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_in_autogenerate})
        diff = compare_metadata(ctx, db.metadata)
    if db.engine.dialect.name == "sqlite":
        # Alembic cannot read back DESC index columns from SQLite: it reports such an index as
        # removed and added again although the migration made it exactly.  PostgreSQL compares them.
        removed = {d[1].name for d in diff if d[0] == "remove_index"}
        added = {d[1].name for d in diff if d[0] == "add_index"}
        same = removed & added
        diff = [d for d in diff if not (d[0] in ("remove_index", "add_index") and d[1].name in same)]
    assert diff == []


def _flask_db(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CIVIC_DATABASE_URL": url}
    env.pop("CIVIC_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "civic", "db", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_sqlite_upgrade_from_empty_downgrade_to_base_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'mig.db'}"
    for step in (("upgrade",), ("downgrade", "base"), ("upgrade",)):
        done = _flask_db(url, *step)
        assert done.returncode == 0, done.stderr
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        tables = {t for t in sa.inspect(conn).get_table_names() if not is_index_table(t)}
        head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert tables == set(db.metadata.tables) | {"alembic_version"}
    assert head == _flask_db(url, "heads").stdout.split()[0]


def test_migration_files_are_numbered_in_the_order_of_their_chain():
    # Read each file's own revision and down_revision (the chain Alembic follows), without Alembic.
    revisions = {}
    for path in (REPO / "civic" / "migrations" / "versions").glob("*.py"):
        values = {t.id: n.value.value for n in ast.parse(path.read_text(encoding="utf-8")).body
                  if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) for t in n.targets
                  if isinstance(t, ast.Name) and t.id in ("revision", "down_revision")}
        assert values["revision"] == path.stem, f"{path.name} holds revision {values['revision']}"
        revisions[values["revision"]] = values.get("down_revision")
    chain, head = [], None
    children = {down: rev for rev, down in revisions.items()}
    while head in children:
        head = children[head]
        chain.append(head)
    assert len(chain) == len(revisions) >= 13  # one line, no branch, nothing left over
    assert [int(rev.split("_")[0]) for rev in chain] == list(range(1, len(chain) + 1))
