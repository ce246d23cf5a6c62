"""A real django-oscar shop (tests/oscarsite) copied whole, end to end, on PostgreSQL.

Oscar is a project of its own here, with its own settings, as Wagtail is: its migrations
would slow every other test. The production database is migrated and filled through
Oscar's own APIs (``oscarsite_build``); the test asks ``devdata_pii`` whether the
settings leave a personal field uncovered, exports production and imports it into the dev
database with the real commands, in subprocesses, as on two machines, and compares
what the shop's staff and customers would find (``oscarsite_inspect``). One vendor: what
Oscar adds over the test site is its models, not SQL.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from sitefixtures import skip_without_server, unreachable
from sitetools import cli_environ


def django_admin(databases: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``django-admin`` on the shop with ``databases`` as its ``OSCARSITE_DATABASES``."""
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        capture_output=True,
        text=True,
        env=cli_environ(DJANGO_SETTINGS_MODULE="oscarsite.settings", OSCARSITE_DATABASES=databases),
        timeout=600,
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        )
    return result


def inspect(database: str, *args: str) -> dict:
    return json.loads(django_admin(database, "oscarsite_inspect", *args).stdout)


@pytest.fixture(scope="module")
def oscar_production(_database_access):
    """Per vendor, what ``oscarsite_inspect`` reports of its built production database,
    or why the vendor cannot be tested."""
    reachable = [vendor for vendor in ("sqlite", "postgres") if not unreachable(vendor)]
    everything = ",".join(["sqlite", *(f"{v},{v}_dev" for v in reachable)])
    django_admin(everything, "site_databases", "create")
    built: dict[str, dict] = {}

    def build(vendor: str) -> dict | str:
        if vendor not in reachable:
            return unreachable(vendor) or f"{vendor} is not reachable"
        if vendor not in built:
            django_admin(vendor, "migrate", "--verbosity=0")
            django_admin(vendor, "oscarsite_build")
            built[vendor] = inspect(vendor, "--password", "pw")
        return built[vendor]

    yield build
    django_admin(everything, "site_databases", "drop")


@pytest.mark.databases_only("postgres")
def test_full_copy_is_the_shop_without_its_customers_personal_data(
    vendor, oscar_production, tmp_path
):
    shop = oscar_production(vendor)
    skip_without_server(vendor, shop if isinstance(shop, str) else None)
    export = tmp_path / "export"
    # The settings anonymise everything devdata_pii finds: it reports nothing left.
    pii = django_admin(vendor, "devdata_pii", check=False)
    assert pii.returncode == 0, f"devdata_pii finds uncovered fields:\n{pii.stdout}{pii.stderr}"

    exported = django_admin(vendor, "devdata_export", str(export))
    assert "audit" not in exported.stderr, exported.stderr
    django_admin(f"{vendor}_dev", "devdata_import", str(export), "--no-input")
    dev = inspect(f"{vendor}_dev", "--export", str(export))

    assert shop["dangling"] == []
    assert dev["dangling"] == [], "the dev database or the export references missing rows"
    assert dev["rows"] == shop["rows"], "a table's rows did not all arrive"
    assert dev["catalogue"] == shop["catalogue"]
    assert dev["catalogue"]["tree_problems"] == {}
    assert dev["orders"] == shop["orders"]
    assert dev["invalid_phones"] == shop["invalid_phones"] == []
    assert len(shop["orders"]) == 7 and len(shop["catalogue"]["products"]) == 4

    # Whole values, in any case: the customers' names are ones Faker does not make.
    leaked = sorted(
        f"{path.relative_to(export)}: {value!r}"
        for path in export.rglob("*")
        if path.is_file()
        for text in [path.read_text(errors="replace")]
        for value in shop["personal"]
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, re.IGNORECASE)
    )
    assert leaked == [], "personal values of production are in the export"
    # Customers sign in with their (anonymised) email and the development password.
    assert shop["logins"] == ["orwin", "yestrel", "zorbina"]
    assert len(dev["logins"]) == 3, f"customers who can sign in on dev: {dev['logins']}"
