"""The reset modes of ``devdata_import --reset-mode``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devdata_core import databases, swap
from devdata_core.errors import DevdataError
from devdata_core.reset_modes import Reset


class DropDatabaseReset(Reset):
    """Replace the whole database with a new one (the default).

    The import builds the new database beside the old one and swaps it in once loaded,
    so that a failed or killed import leaves the old one as it was (PostgreSQL and SQLite
    files; MySQL drops and re-creates it in place). Needs a user allowed to create and
    drop databases, as local development usually has. On PostgreSQL the sessions still
    on the old database (a dev server) are ended.
    """

    slug = "drop-database"
    description_for_confirmation = "drop and re-create"

    def reset_database(self, django_dbname: str) -> None:
        databases.recreate_database(django_dbname)

    @contextmanager
    def prepared(self, django_dbname: str) -> Iterator[bool]:
        with swap.built_beside(django_dbname) as kept:
            yield kept


class DropTablesReset(Reset):
    """Drop the tables Django knows of (migration history included) and every view.

    For a user that may not drop the database but owns its tables. Other tables, and
    objects such as functions or sequences that no table owns, are left as they are, as
    is what an extension owns. On PostgreSQL all is dropped in one transaction, or nothing.
    """

    slug = "drop-tables"
    description_for_confirmation = "drop every Django table and view in"

    def reset_database(self, django_dbname: str) -> None:
        databases.drop_tables(django_dbname)


class NoReset(Reset):
    """Leave the database as it is: the import merges into what is there.

    Rows with the key of an imported row are replaced; migrations already applied are
    skipped.
    """

    slug = "none"
    description_for_confirmation = "merge into"
    destructive = False

    def reset_database(self, django_dbname: str) -> None:
        pass


class RequireEmptyReset(Reset):
    """Refuse unless the database has no tables or views: for databases the user may not drop.

    Suits hosted staging databases created empty by someone else. What extensions own
    (PostGIS's ``spatial_ref_sys``, say) does not count.
    """

    slug = "require-empty"
    description_for_confirmation = "fill the empty"
    destructive = False

    def reset_database(self, django_dbname: str) -> None:
        tables = databases.existing_tables(django_dbname)
        if tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise DevdataError(
                f"--reset-mode=require-empty: {databases.describe(django_dbname)} is not empty "
                f"({len(tables)} tables: {shown}); empty it, or choose another reset mode"
            )
