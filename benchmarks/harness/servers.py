"""The database servers: URLs of the benchmark's databases, creating and dropping them, versions.

Each vendor has source databases, one per scale (``src_<N>``), kept between runs, and
one target database (``dst``) that every tool replaces. On PostgreSQL and MariaDB they
are named ``devdata_bench_src_<N>`` and ``devdata_bench_dst``; SQLite's are files under
``benchmarks/var/``.
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pymysql
from psycopg2 import sql

from .process import BENCH_DIR

VAR_DIR = BENCH_DIR / "var"
PREFIX = "devdata_bench_"
#: Where the servers are (a database URL without a database), overridable for other machines.
SERVER_URLS = {
    "postgres": os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
    "mariadb": os.environ.get("BENCH_MARIADB", "mysql://root@127.0.0.1:3306"),
}
VENDORS = ("sqlite", "postgres", "mariadb")


class ServerError(Exception):
    """The server refused or could not be reached; the message is one line."""


class Server(ABC):
    """One vendor's databases."""

    vendor: str

    def source(self, scale: int) -> str:
        """URL of the source database of ``scale``."""
        return self.url(f"src_{scale}")

    def target(self) -> str:
        """URL of the target database."""
        return self.url("dst")

    @abstractmethod
    def url(self, name: str) -> str:
        """The database URL of the benchmark's database ``name`` (``src_<N>`` or ``dst``)."""

    @abstractmethod
    def create(self, name: str, *, replace: bool) -> None:
        """Create database ``name`` if it does not exist; empty, if ``replace``."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Drop database ``name`` if it exists."""

    @abstractmethod
    def version(self) -> str:
        """The server's name and version, for the report."""


class _NetworkServer(Server):
    """A server reached over the network, at ``SERVER_URLS[vendor]``."""

    def __init__(self) -> None:
        self.parts = urlsplit(SERVER_URLS[self.vendor])

    def url(self, name: str) -> str:
        return urlunsplit(self.parts._replace(path=f"/{PREFIX}{name}"))

    def _connection_kwargs(self) -> dict[str, Any]:
        return {
            "host": self.parts.hostname,
            "port": self.parts.port,
            "user": self.parts.username,
            "password": self.parts.password or "",
        }


class Postgres(_NetworkServer):
    vendor = "postgres"

    def _execute(self, *statements: sql.Composable | str) -> list[tuple[Any, ...]]:
        """Run ``statements`` in autocommit mode; the rows of the last one."""
        try:
            with closing(psycopg2.connect(dbname="postgres", **self._connection_kwargs())) as db:
                db.autocommit = True
                with db.cursor() as cursor:
                    for statement in statements:
                        cursor.execute(statement)
                    return cursor.fetchall() if cursor.description else []
        except psycopg2.Error as error:
            raise ServerError(f"PostgreSQL: {str(error).strip()}") from error

    def create(self, name: str, *, replace: bool) -> None:
        if replace:
            self.drop(name)
        exists = self._execute(
            sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(
                sql.Literal(PREFIX + name)
            )
        )
        if not exists:
            self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PREFIX + name)))

    def drop(self, name: str) -> None:
        # WITH (FORCE), PostgreSQL 13+, ends sessions a failed step may have left behind.
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(PREFIX + name))
        )

    def version(self) -> str:
        return f"PostgreSQL {self._execute('SHOW server_version')[0][0]}"


class MariaDB(_NetworkServer):
    vendor = "mariadb"

    def _execute(self, *statements: str) -> list[tuple[Any, ...]]:
        """Run ``statements`` in autocommit mode; the rows of the last one."""
        try:
            connection = pymysql.connect(autocommit=True, **self._connection_kwargs())
            with closing(connection) as db, db.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
                return list(cursor.fetchall())
        except pymysql.Error as error:
            raise ServerError(f"MariaDB: {error}") from error

    def _quoted(self, name: str) -> str:
        return "`" + (PREFIX + name).replace("`", "``") + "`"

    def create(self, name: str, *, replace: bool) -> None:
        # The server's default character set, as devdata_import's drop-database uses.
        if replace:
            self.drop(name)
        self._execute(f"CREATE DATABASE IF NOT EXISTS {self._quoted(name)}")

    def drop(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {self._quoted(name)}")

    def version(self) -> str:
        version = str(self._execute("SELECT VERSION()")[0][0])  # 10.11.19-MariaDB-0+deb12u1
        product = "MariaDB" if "mariadb" in version.lower() else "MySQL"
        return f"{product} {version.split('-')[0]}"


class SQLite(Server):
    vendor = "sqlite"

    def _path(self, name: str) -> Path:
        return VAR_DIR / f"{name}.sqlite3"

    def url(self, name: str) -> str:
        return f"sqlite:///{self._path(name)}"

    def create(self, name: str, *, replace: bool) -> None:
        # Connecting creates the file.
        VAR_DIR.mkdir(exist_ok=True)
        if replace:
            self.drop(name)

    def drop(self, name: str) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self._path(name)}{suffix}").unlink(missing_ok=True)

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"


def server(vendor: str) -> Server:
    """The server of ``vendor`` (one of VENDORS)."""
    return {"sqlite": SQLite, "postgres": Postgres, "mariadb": MariaDB}[vendor]()
