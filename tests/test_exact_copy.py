"""A full export is the source, exactly: every table the import loads ends with the
exported rows only, and every value arrives as its field stores it.

The ``defaults`` app's data migration makes, in every freshly built database, a welcome
page with a revision, a default configuration rooted at it (``PROTECT``) and a
"Moderators" group allowed to change and view pages; ``django.contrib.sites`` makes
``example.com``. Production (flushed for each test) no longer holds them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site as DjangoSite
from django.core.management import call_command
from django.db import connections
from django.db.models.signals import post_migrate
from test_fidelity import seed_every_table
from test_streaming import InstanceQuerySetStrategy

from devdata_core import databases
from devdata_core.errors import ConfigError, DevdataError
from devdata_core.settings import NATURAL_KEY_MODELS, load_settings, model_label
from devdata_queryset import QuerySetStrategy
from sitetools import Site, content_type
from testsite.defaults.models import ArticlePage, Device, HomePage, Page, Revision, SiteConfig

pytestmark = pytest.mark.usefixtures("intact")

#: What the import says of the rows the dev database's migrations made (one line per model).
REMOVED = "that the dev database's migrations made and the export does not hold"


def seed_production(site: Site) -> None:
    """Production as it is today: the defaults its migrations made are gone or changed."""
    src = site.src
    seed_every_table(site)
    DjangoSite.objects.using(src).filter(pk=1).delete()
    DjangoSite.objects.using(src).create(pk=2, domain="www.example.org", name="Shop")
    home = Page.objects.using(src).create(pk=10, slug="home", title="Home")
    Revision.objects.using(src).create(pk=10, page=home, content="Welcome home")
    SiteConfig.objects.using(src).create(pk=2, name="main", is_default=True, root_page=home)
    # Moderators may view pages only: production revoked "change_page".
    moderators = Group.objects.using(src).create(pk=2, name="Moderators")
    Group.permissions.through.objects.using(src).create(
        pk=3,
        group=moderators,
        permission=Permission.objects.using(src).get(
            codename="view_page", content_type__app_label="defaults"
        ),
    )
    Device.objects.using(src).create(pk=1, name="switch", serial="SN-1")
    Device.objects.using(src).create(pk=2, name="patch panel", serial=None)


def table(alias: str, model: type[Any]) -> list[tuple[Any, ...]]:
    """Every row of ``model``'s table as the database holds it, ordered by key; references
    to content types and permissions as their natural keys (each database numbers its own)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.local_concrete_fields if not getattr(f, "generated", False)]
    natural = {
        index: {
            obj.pk: obj.natural_key() for obj in f.related_model._base_manager.using(alias).all()
        }
        for index, f in enumerate(fields)
        if f.is_relation and model_label(f.related_model) in NATURAL_KEY_MODELS
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(f.column) for f in fields)} "
            f"FROM {quote(model._meta.db_table)} ORDER BY {quote(model._meta.pk.column)}"
        )
        rows = cursor.fetchall()
    return [
        tuple(natural[i][value] if i in natural else value for i, value in enumerate(row))
        for row in rows
    ]


def loaded_models(site: Site) -> list[type[Any]]:
    """The models the export holds files of: the tables the import loads."""
    return [apps.get_model(d.name) for d in sorted(site.export_dir.iterdir()) if d.is_dir()]


def assert_tables_equal(site: Site) -> None:
    models = loaded_models(site)
    assert {Page, Revision, SiteConfig, DjangoSite, Group, Group.permissions.through} <= set(models)
    different = [model_label(m) for m in models if table(site.src, m) != table(site.dev, m)]
    assert different == []


def removed_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if REMOVED in line]


def prepare_schema_only(site: Site) -> None:
    """Dev as a schema-only dump leaves it: every table, no rows, no migration history."""
    databases.recreate_database(site.dev)
    connection = connections[site.dev]
    with connection.schema_editor() as editor:
        for model in apps.get_models():
            if model._meta.managed and not model._meta.proxy:
                editor.create_model(model)
    connection.close()


@pytest.mark.parametrize("reset", ["drop-database", "drop-tables", "none"])
def test_a_full_copy_is_the_source_table_by_table(site, reset):
    seed_production(site)
    site.export()
    if reset == "none":
        prepare_schema_only(site)

    output = site.import_(f"--reset-mode={reset}")

    assert_tables_equal(site)
    assert list(DjangoSite.objects.using(site.dev).values_list("domain", flat=True)) == [
        "www.example.org"
    ]
    assert set(
        Group.objects.using(site.dev)
        .get(name="Moderators")
        .permissions.values_list("codename", flat=True)
    ) == {"view_page"}
    # Sequences start past the loaded rows.
    page = Page.objects.using(site.dev).create(slug="new", title="New")
    Revision.objects.using(site.dev).create(page=page, content="new")
    SiteConfig.objects.using(site.dev).create(name="new", root_page=page)
    Device.objects.using(site.dev).create(name="new")
    if reset == "none":
        # Tables without history count as migrated: only post_migrate made rows.
        assert removed_lines(output.stdout) == [f"sites.Site: removed 1 row {REMOVED}"]
    else:
        assert removed_lines(output.stdout) == [
            f"auth.Group_permissions: removed 1 row {REMOVED}",
            f"defaults.Page: removed 1 row {REMOVED}",
            f"defaults.Revision: removed 1 row {REMOVED}",
            f"defaults.SiteConfig: removed 1 row {REMOVED}",
            f"sites.Site: removed 1 row {REMOVED}",
        ]


def test_rows_there_before_a_merge_stay(site):
    """``--reset-mode=none`` merges: what the dev database held before the import is no
    migration's doing, and stays; migrations applied then make nothing now."""
    seed_production(site)
    site.roundtrip()
    Page.objects.using(site.dev).create(pk=50, slug="draft", title="Made in dev")
    connections[site.dev].close()

    output = site.import_("--reset-mode=none")

    assert site.pks(Page) == {10, 50}
    assert removed_lines(output.stdout) == []


def test_models_named_in_the_setting_keep_their_migration_rows(site):
    seed_production(site)
    site.configure(DEVDATA_KEEP_MIGRATION_ROWS=["defaults.Page", "defaults.SiteConfig"])

    site.export()
    output = site.import_()

    assert dict(Page.objects.using(site.dev).values_list("slug", "pk")) == {
        "welcome": 1,
        "home": 10,
    }
    assert set(SiteConfig.objects.using(site.dev).values_list("pk", "name")) == {
        (1, "default"),
        (2, "main"),
    }
    # The welcome page's revision is no kept model's: it goes.
    assert site.pks(Revision) == {10}
    assert removed_lines(output.stdout) == [
        f"auth.Group_permissions: removed 1 row {REMOVED}",
        f"defaults.Revision: removed 1 row {REMOVED}",
        f"sites.Site: removed 1 row {REMOVED}",
    ]


def test_a_migration_row_that_a_kept_row_protects_is_not_removed_silently(site):
    seed_production(site)
    site.configure(DEVDATA_KEEP_MIGRATION_ROWS=["defaults.SiteConfig"])
    site.export()

    with pytest.raises(DevdataError) as raised:
        site.import_()

    assert str(raised.value).startswith(
        "cannot remove the defaults.Page rows that the dev database's migrations made and the "
        "export does not hold: defaults.SiteConfig rows 1 reference them and may not lose them "
        "(on_delete PROTECT or RESTRICT); add 'defaults.Page' to DEVDATA_KEEP_MIGRATION_ROWS "
        "to keep them"
    )
    site.imported = False  # Nothing was imported.


@pytest.mark.databases_only("sqlite")
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            ["defaults.Page", "defaults.Pag"],
            "DEVDATA_KEEP_MIGRATION_ROWS[1]: 'defaults.Pag' is not an installed model; "
            "did you mean 'defaults.Page'?",
        ),
        (
            "defaults.Page",
            "DEVDATA_KEEP_MIGRATION_ROWS must be a list of model labels ('app_label.ModelName'), "
            "got 'defaults.Page'",
        ),
        (
            [Page],
            "DEVDATA_KEEP_MIGRATION_ROWS[0]: expected a model label ('app_label.ModelName'), "
            "got <class 'testsite.defaults.models.Page'>",
        ),
    ],
)
def test_the_keep_setting_is_checked(site, value, message):
    site.configure(DEVDATA_KEEP_MIGRATION_ROWS=value)

    with pytest.raises(ConfigError) as raised:
        load_settings()

    assert str(raised.value) == message


def test_a_migration_made_child_row_goes_without_production_s_parent_row(site):
    """The dev database's ``post_migrate`` makes a home page, page 3; in production page 3
    is an article. The load puts production's page 3 in place; removing the home page
    the export does not hold leaves that page, and so the article, as they are."""

    def make_home_page(using: str, apps: Any, **kwargs: Any) -> None:
        if using == site.dev:
            home = apps.get_model("defaults", "HomePage")
            home.objects.using(using).create(pk=3, slug="dev-home", title="Home", hero="Hi")

    src = site.src
    ArticlePage.objects.using(src).create(pk=3, slug="news", title="News", body="Read")
    Revision.objects.using(src).create(pk=3, page_id=3, content="First draft")
    post_migrate.connect(make_home_page, sender=apps.get_app_config("defaults"))
    try:
        site.export()
        output = site.import_()
    finally:
        post_migrate.disconnect(make_home_page, sender=apps.get_app_config("defaults"))

    assert list(Page.objects.using(site.dev).values_list("pk", "slug", "title")) == [
        (3, "news", "News")
    ]
    assert list(ArticlePage.objects.using(site.dev).values_list("pk", "body")) == [(3, "Read")]
    assert site.pks(HomePage) == set()
    assert list(Revision.objects.using(site.dev).values_list("pk", "page_id")) == [(3, 3)]
    assert f"defaults.HomePage: removed 1 row {REMOVED}" in removed_lines(output.stdout)


def test_migration_rows_go_when_rows_load_through_instances(site):
    """A strategy that imports instances (``import_objects``) loads through Django's insert;
    migration-made rows go all the same."""
    seed_production(site)
    site.configure(
        DEVDATA_STRATEGIES={"defaults.Page": [InstanceQuerySetStrategy(name="all")]},
    )

    site.roundtrip()

    assert site.pks(Page) == {10}
    assert site.pks(SiteConfig) == {2}


# Values exact on import ----------------------------------------------------------------


def raw_column(alias: str, column: str) -> dict[int, Any]:
    """A column of the devices' table as the database holds it, by id."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {quote(column)} FROM {quote(Device._meta.db_table)}")
        return dict(cursor.fetchall())


@pytest.mark.parametrize("path", ["rows", "instances"])
def test_a_field_that_stores_blank_for_none_keeps_it(site, path):
    Device.objects.using(site.src).create(pk=1, name="switch", serial="SN-1")
    Device.objects.using(site.src).create(pk=2, name="patch panel", serial=None)
    if path == "instances":
        site.configure(
            DEVDATA_STRATEGIES={"defaults.Device": [InstanceQuerySetStrategy(name="all")]}
        )

    site.roundtrip()

    assert raw_column(site.src, "serial") == {1: "SN-1", 2: ""}
    assert raw_column(site.dev, "serial") == {1: "SN-1", 2: ""}
    assert site.exported("defaults.Device")["all"][1]["fields"]["serial"] is None


def test_null_stays_null_where_the_field_makes_a_value_of_none(site):
    """Tags' ``to_python`` makes ``[]`` of ``None``, which it would store as ``''``; a
    NULL in production is still NULL in dev, as Django's own insert stores it."""
    Device.objects.using(site.src).create(pk=1, name="switch", tags=["core", "rack-1"])
    Device.objects.using(site.src).create(pk=2, name="patch panel", tags=[])
    Device.objects.using(site.src).create(pk=3, name="cable", tags=None)

    site.roundtrip()

    expected = {1: "core,rack-1", 2: "", 3: None}
    if connections[site.dev].features.interprets_empty_strings_as_nulls:
        expected[2] = None
    assert raw_column(site.src, "tags") == expected
    assert raw_column(site.dev, "tags") == expected


# Natural keys resolve against the dev database as it is ---------------------------------


def test_permissions_resolve_against_content_types_the_import_loads(site):
    """Content types exported too (production's ids kept, for ids held outside foreign
    keys): permissions, exported with their content types as natural keys, resolve against
    the content types as loaded, not the ones the migrations made, which a per-process
    cache still remembers."""
    src = site.src
    # Production numbers defaults.Page's content type after all others, as it would
    # after an app was removed and added again; a fresh database does not.
    ContentType.objects.using(src).get(app_label="defaults", model="page").delete()
    create_contenttypes(apps.get_app_config("defaults"), verbosity=0, using=src)
    create_permissions(apps.get_app_config("defaults"), verbosity=0, using=src)
    moderators = Group.objects.using(src).create(pk=2, name="Moderators")
    moderators.permissions.add(
        Permission.objects.using(src).get(codename="view_page", content_type__app_label="defaults")
    )
    site.configure(
        DEVDATA_STRATEGIES={
            "contenttypes.ContentType": [QuerySetStrategy(name="all")],
            "auth.Permission": [QuerySetStrategy(name="all")],
        }
    )

    site.roundtrip()

    page_type = content_type(src, Page).pk
    assert content_type(site.dev, Page).pk == page_type
    assert set(
        Permission.objects.using(site.dev)
        .filter(content_type=page_type)
        .values_list("codename", flat=True)
    ) == {"add_page", "change_page", "delete_page", "view_page"}
    assert list(
        Group.objects.using(site.dev).get(pk=2).permissions.values_list("content_type", "codename")
    ) == [(page_type, "view_page")]
    # What the process caches afterwards is what the dev database holds.
    assert ContentType.objects.db_manager(site.dev).get_for_model(Page).pk == page_type


def test_natural_keys_do_not_resolve_through_a_stale_content_type_cache(site):
    """One process imports twice, into dev databases that number content types differently
    (the first was migrated by hand, the second by the import): the group's permission
    still points at its own model, not at what the process cached from the first."""
    src, dev = site.src, site.dev
    moderators = Group.objects.using(src).create(pk=2, name="Moderators")
    moderators.permissions.add(
        Permission.objects.using(src).get(codename="view_page", content_type__app_label="defaults")
    )
    site.export()
    databases.recreate_database(dev)
    call_command("migrate", database=dev, verbosity=0)
    ContentType.objects.using(dev).get(app_label="defaults", model="page").delete()
    create_contenttypes(apps.get_app_config("defaults"), verbosity=0, using=dev)
    create_permissions(apps.get_app_config("defaults"), verbosity=0, using=dev)
    connections[dev].close()
    site.import_("--reset-mode=none")
    first = content_type(dev, Page).pk

    site.import_()

    assert content_type(dev, Page).pk != first
    assert list(
        Group.objects.using(dev)
        .get(pk=2)
        .permissions.values_list("content_type__app_label", "content_type__model", "codename")
    ) == [("defaults", "page", "view_page")]
