"""Migrations build the whole schema from empty, on both databases, matching the models."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from server import db
from server.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"migtest_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = db.make_engine(url + f"?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_engine):
    assert inspect(empty_engine).get_table_names() == []
    db.upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with empty_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_upgrade_is_repeatable(empty_engine):
    db.upgrade(empty_engine)
    db.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
