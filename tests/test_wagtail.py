"""A real Wagtail site (tests/wagtailsite) copied whole and in part, end to end.

Wagtail is a project of its own here, with its own settings: its migrations would slow
every other test. Each vendor's production database is migrated and filled once per
session, through Wagtail's own APIs (``wagtailsite_build``); each test exports it and
imports it into that vendor's dev database with the real commands, in subprocesses, as
on two machines (Wagtail's data migrations and page serving use ``default``), then looks
at the dev database as a visitor and the site's editors would (``wagtailsite_inspect``)
and compares it with production table by table (``wagtailsite_compare``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sitefixtures import VENDORS, unreachable
from sitetools import cli_environ


def django_admin(databases: str, *args: str, settings: str = "wagtailsite.settings") -> str:
    """Run ``django-admin`` on the Wagtail site with ``databases`` as its
    ``WAGTAILSITE_DATABASES``; its output, or a failure that shows its stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        capture_output=True,
        text=True,
        env=cli_environ(DJANGO_SETTINGS_MODULE=settings, WAGTAILSITE_DATABASES=databases),
        timeout=600,
    )
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


class WagtailSite:
    """One vendor's Wagtail production database, its dev database and an export directory."""

    def __init__(self, vendor: str, export_dir: Path, production: dict[str, Any]) -> None:
        self.vendor = vendor
        self.dev = f"{vendor}_dev"
        self.export_dir = export_dir
        #: What ``wagtailsite_inspect`` reports of production.
        self.production = production

    def export(self, settings: str = "wagtailsite.settings") -> None:
        django_admin(self.vendor, "devdata_export", str(self.export_dir), settings=settings)

    def import_(self, settings: str = "wagtailsite.settings") -> None:
        django_admin(
            self.dev, "devdata_import", str(self.export_dir), "--no-input", settings=settings
        )

    def inspect_dev(self) -> dict[str, Any]:
        return json.loads(django_admin(self.dev, "wagtailsite_inspect"))

    def table_differences(self) -> dict[str, Any]:
        """How each table of dev differs from production's (``{}``: none)."""
        return json.loads(
            django_admin(
                f"{self.dev},{self.vendor}", "wagtailsite_compare", "--source", self.vendor
            )
        )


@pytest.fixture(scope="session")
def wagtail_production(_database_access):
    """Per vendor, what ``wagtailsite_inspect`` reports of its built production database,
    or why the vendor cannot be tested."""
    reachable = [vendor for vendor in VENDORS if not unreachable(vendor)]
    everything = ",".join(["sqlite", *(f"{v},{v}_dev" for v in reachable)])
    django_admin(everything, "site_databases", "create")
    built: dict[str, dict[str, Any]] = {}

    def build(vendor: str) -> dict[str, Any] | str:
        if vendor not in reachable:
            return unreachable(vendor) or f"{vendor} is not reachable"
        if vendor not in built:
            django_admin(vendor, "migrate", "--verbosity=0")
            django_admin(vendor, "wagtailsite_build")
            built[vendor] = json.loads(django_admin(vendor, "wagtailsite_inspect"))
        return built[vendor]

    yield build
    django_admin(everything, "site_databases", "drop")


@pytest.fixture
def wagtail(vendor: str, wagtail_production, tmp_path) -> WagtailSite:
    """The Wagtail site on ``vendor`` (each test runs once per vendor, as with ``site``)."""
    production = wagtail_production(vendor)
    if isinstance(production, str):
        pytest.skip(production)
    return WagtailSite(vendor, tmp_path / "export", production)


def test_production_is_a_working_site(wagtail):
    """The tests below compare the dev database with this: production serves every page
    and lets its editors in, with one default site and a sound tree."""
    production = wagtail.production
    assert production["default_site"] == {"hostname": "www.example.com", "root_page": 4}
    assert {page["status"] for page in production["pages"].values()} == {200}
    assert all(page["shows_title"] for page in production["pages"].values())
    assert production["tree_problems"] == {"Page": {}, "Collection": {}}
    assert production["dangling"] == []
    assert {name: user["admin"] for name, user in production["users"].items()} == {
        "admin": 200,
        "alice": 200,
        "bob": 200,
        "carol": 200,
        "dave": 302,  # in no group: no admin
    }


def test_full_copy_equals_production(wagtail):
    wagtail.export()
    wagtail.import_()

    # Before anyone visits dev, which makes sessions, renditions and the like there.
    differences = wagtail.table_differences()
    assert differences == {}, f"dev differs from production: {json.dumps(differences, indent=1)}"
    dev = wagtail.inspect_dev()
    assert dev["default_site"] == wagtail.production["default_site"]
    assert dev["pages"] == wagtail.production["pages"]
    assert dev["tree_problems"] == wagtail.production["tree_problems"]
    assert dev["dangling"] == []
    assert dev["users"] == wagtail.production["users"]


@pytest.mark.parametrize(
    ("settings", "sample", "others"),
    [
        # Blog posts, by date, their owners pulled in; of the other users, only the admin.
        # The form page is no post: the default strategy takes it.
        ("wagtailsite.settings_latest_posts", {"Post 5", "Post 6", "Post 7"}, {"Contact"}),
        # Pages of any type, by first publication, and nothing else configured.
        ("wagtailsite.settings_latest_pages", {"Contact", "Post 6", "Post 7"}, set()),
    ],
    ids=["latest-posts", "latest-pages"],
)
def test_subset_keeps_its_pages_tree_and_editors(wagtail, settings, sample, others):
    wagtail.export(settings=settings)
    wagtail.import_(settings=settings)
    dev = wagtail.inspect_dev()

    production = wagtail.production["pages"]
    assert set(dev["pages"]) <= set(production), "dev has pages that production has not"
    sampled = {pk for pk, page in production.items() if page["title"] in sample}
    assert len(sampled) == len(sample)
    ancestors = {
        pk
        for pk, page in production.items()
        for leaf in sampled
        if production[leaf]["path"].startswith(page["path"]) and pk != leaf
    }
    assert {dev["pages"][pk]["title"] for pk in set(dev["pages"]) - ancestors} == sample | others, (
        "the sample, the pages above it, and no other page"
    )
    assert ancestors <= set(dev["pages"]), "the pages above the sample come with it"
    assert {pk: page["url"] for pk, page in dev["pages"].items()} == {
        pk: production[pk]["url"] for pk in dev["pages"]
    }
    assert dev["default_site"] == wagtail.production["default_site"]
    assert {
        pk: (page.get("status"), page.get("shows_title")) for pk, page in dev["pages"].items()
    } == {pk: (200, True) for pk in dev["pages"]}
    assert dev["tree_problems"] == {"Page": {}, "Collection": {}}
    assert dev["dangling"] == [], "references by content type and id point at missing rows"

    owners = {production[pk]["owner"] for pk in sampled}
    for owner in owners:
        found, was = dev["users"].get(owner), wagtail.production["users"][owner]
        assert found is not None, f"{owner}, who owns a page of the sample, is not in dev"
        assert found["groups"] == was["groups"], f"{owner} came without their groups"
        assert found["admin"] == 200, f"{owner} cannot use the admin in dev"
        assert found["editors"] == {
            pk: status for pk, status in was["editors"].items() if pk in dev["pages"]
        }, f"{owner} cannot edit their pages in dev"
