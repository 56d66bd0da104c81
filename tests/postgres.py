"""Throwaway databases on the test PostgreSQL server: EXTEXIFY_TEST_POSTGRES, else postgres@127.0.0.1."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
import pytest
from psycopg2 import sql

SERVER = os.environ.get("EXTEXIFY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin() -> psycopg2.extensions.connection:
    """An autocommit connection to the server's maintenance database; the tests fail without one."""
    try:
        connection = psycopg2.connect(SERVER)
    except psycopg2.OperationalError as error:
        pytest.fail(f"these tests need the PostgreSQL server at {SERVER}: {error}")
    connection.autocommit = True
    return connection


def database_url(name: str) -> str:
    """A postgresql:// URL of database `name` on the test server (what `--store` takes)."""
    params = psycopg2.extensions.parse_dsn(SERVER)
    user, host, port = (
        params.get("user", "postgres"),
        params.get("host", "127.0.0.1"),
        params.get("port", 5432),
    )
    password = f":{params['password']}" if "password" in params else ""
    return f"postgresql://{user}{password}@{host}:{port}/{name}"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty database, dropped afterwards; yields its postgresql:// URL."""
    name = f"extexify_test_{uuid.uuid4().hex[:12]}"
    connection = admin()
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.close()
