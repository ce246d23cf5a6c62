"""Create the database in ``DATABASE_URL`` if the server does not have it yet."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from devdata_core.databases import describe, quote_identifier


class Command(BaseCommand):
    """``CREATE DATABASE`` on PostgreSQL and MySQL/MariaDB; SQLite makes its file itself."""

    help = "Create the database in DATABASE_URL if it does not exist (a no-op on SQLite)."
    # The checks would connect to the database that may not exist yet.
    requires_system_checks: list[str] = []

    def handle(self, **options: Any) -> None:
        """Connect; if that fails, create the database through the server's default one."""
        if connection.vendor == "sqlite":
            return
        try:
            connection.ensure_connection()
        except DatabaseError:
            pass
        else:
            return
        name = quote_identifier(connection, connection.settings_dict["NAME"])
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        self.stdout.write(f"created {describe(connection.alias)}")
