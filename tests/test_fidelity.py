"""Rows arrive as they were: every value, every table shape, and a usable database."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.core.management import call_command
from django.db import connections
from django.db.models.expressions import RawSQL
from django.db.models.fields import AutoFieldMixin

from devdata_core import copy_export, databases
from devdata_core.graph import build_graph
from devdata_core.settings import load_settings, model_label
from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from testsite.audit.models import Attachment, Document, LogEntry, ReferenceIndex
from testsite.fidelity.models import Entry, Owner, Pet, Reading, Record, Special, Visit
from testsite.library.models import Author, Book, Edition, Tag
from testsite.pages.models import BlogPage, Category, Folder, Page
from testsite.photofeed.models import Photo, PhotoCount
from testsite.polls.models import Choice, Question
from testsite.turtles.models import Turtle, World

pytestmark = pytest.mark.usefixtures("intact")

UTC = timezone.utc
CREATED = datetime(2001, 2, 3, 4, 5, 6, 123456, tzinfo=UTC)
UPDATED = datetime(2002, 3, 4, 5, 6, 7, 654321, tzinfo=UTC)
VALUES = {
    "happened_at": datetime(2023, 7, 8, 9, 10, 11, 987654, tzinfo=UTC),
    "day": date(1999, 12, 31),
    "amount": Decimal("12345678.123456"),
    "payload": {"list": [1, 2.5, "x", None, True], "nested": {"ü": "ß"}, "empty": {}},
    "token": UUID("12345678-1234-5678-1234-567812345678"),
    "blob": b"\x00\x01\xfe\xff binary",
    "duration": timedelta(days=1, hours=2, microseconds=5),
    "ratio": 0.1 + 0.2,
    "notes": None,
}
OTHER_VALUES = {
    **VALUES,
    "amount": Decimal("-0.000001"),
    "payload": '{"a string": "that looks like JSON"}',
    "duration": timedelta(days=-3, seconds=1),
    "ratio": -1.5e-300,
    "notes": "some notes",
}


def make_record(site, model=Record, **values):
    record = model.objects.using(site.src).create(**{**VALUES, **values})
    # auto_now and auto_now_add fields only keep a chosen value through update().
    Record.objects.using(site.src).filter(pk=record.pk).update(created=CREATED, updated=UPDATED)
    return record


def field_values(obj):
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    return {k: bytes(v) if isinstance(v, memoryview) else v for k, v in values.items()}


def test_every_kind_of_value_arrives_exactly(site):
    first = make_record(site)
    second = make_record(site, **OTHER_VALUES, follows=first)

    site.roundtrip()

    for record in (first, second):
        arrived = Record.objects.using(site.dev).get(pk=record.pk)
        assert field_values(arrived) == field_values(
            Record.objects.using(site.src).get(pk=record.pk)
        )
        assert (arrived.created, arrived.updated) == (CREATED, UPDATED)
    assert Record.objects.using(site.dev).get(pk=second.pk).payload == OTHER_VALUES["payload"]
    row = next(r for r in site.exported("fidelity.Record")["all"] if r["pk"] == first.pk)
    assert row["fields"]["happened_at"] == "2023-07-08T09:10:11.987654+00:00"
    assert row["fields"]["amount"] == "12345678.123456"


AWKWARD = [
    "quotes \" ' and backslashes \\ \\\\ \\u0041 \\n, a slash /",
    "lines\n\r\n, tabs\t, controls \x01\x08\x0c\x1b\x1f\x7f, separators \u2028\u2029",
    "émoji 😀, 中文, ß, \ufeff, \U0010ffff",
    "",
]


@pytest.mark.databases_only("postgres")
def test_postgresql_copy_writes_the_lines_python_writes(site):
    """Models that need no Python per row are written by ``COPY``; with
    ``DEVDATA_COPY_EXPORT = False`` by Python: the files are the same, byte for byte."""
    owners, entries = make_entries(site)
    make_record(site)
    # Owners through a join to their pets: the first owner's row comes twice, and is
    # written once.
    Pet.objects.using(site.src).create(name="second", owner=owners[0])
    site.configure(DEVDATA_STRATEGIES={"fidelity.Owner": [OwnersWithPets(name="all")]})

    fast = site.export(verbosity=2).stdout
    copied = _export_files(site)
    site.configure(DEVDATA_COPY_EXPORT=False)
    slow = site.export(verbosity=2).stdout

    assert f"fidelity.Entry: {entries} rows written by COPY" in fast
    assert "fidelity.Pet: 5 rows written by COPY" in fast
    assert "fidelity.Owner:" not in fast
    assert "fidelity.Record:" not in fast  # floats, JSON, binary: Python writes them
    assert "written by COPY" not in slow
    assert _export_files(site) == copied


def make_entries(site, copies=1):
    """Entries with a value of every kind COPY writes (``copies`` of each), with their
    owners and pets; the owners, and how many entries."""
    owners = [Owner.objects.using(site.src).create(code=code[:20]) for code in AWKWARD]
    pets = [
        Pet.objects.using(site.src).create(name=name[:50], owner=owner, vet=owner)
        for name, owner in zip(AWKWARD, owners, strict=True)
    ]
    kinds = [
        (True, 0, -(2**63), Decimal("-0.000001"), Decimal(-(10**29) + 1), CREATED),
        (False, 32767, 2**63 - 1, Decimal("12345678.123456"), Decimal(10**29 - 1), None),
        (None, 1, 0, Decimal("0"), Decimal(0), datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (None, 2, -1, None, Decimal(-7), datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
        (
            True,
            3,
            1,
            Decimal("-1.5"),
            Decimal(12),
            datetime(2020, 6, 1, 23, 30, 0, 500000, tzinfo=timezone(timedelta(hours=-5))),
        ),
    ]
    for number, (flag, small, big, amount, whole, at) in enumerate(kinds):
        for text in AWKWARD * copies:
            Entry.objects.using(site.src).create(
                flag=flag,
                small=small,
                big=big,
                amount=amount,
                whole=whole,
                at=at,
                day=[date(1, 1, 1), date(9999, 12, 31), None][number % 3],
                token=UUID(int=number * 2**100 + 15) if number % 2 else None,
                text=text,
                label=text[:50] if number % 2 else None,
                owner=owners[number % len(owners)],
                vet=owners[-1] if number % 2 else None,
                pet=pets[number % len(pets)] if number % 3 else None,
            )
    return owners, len(kinds) * len(AWKWARD) * copies


@pytest.mark.databases_only("postgres")
def test_jobs_copy_a_table_in_parts_and_write_the_same_files(site, monkeypatch):
    """``--jobs 3`` copies a table read whole in three parts, on connections sharing the
    snapshot: the files are those one connection writes, byte for byte."""
    _, entries = make_entries(site, copies=8)
    make_record(site)
    with connections[site.src].cursor() as cursor:
        cursor.execute("SELECT pg_relation_size('fidelity_entry') / 8192")
        assert cursor.fetchone()[0] >= 3, "every part has pages"
    monkeypatch.setattr(copy_export, "SPLIT_PAGES", 3)

    single = site.export(verbosity=2).stdout
    one_job = _export_files(site)
    split = site.export("--jobs", "3", verbosity=2).stdout

    assert f"fidelity.Entry: {entries} rows written by COPY\n" in single
    assert f"fidelity.Entry: {entries} rows written by COPY in 3 parts" in split
    assert _export_files(site) == one_job


class OwnersWithPets(QuerySetStrategy):
    def get_queryset(self, django_dbname, dest, model):
        return super().get_queryset(django_dbname, dest, model).filter(pets__isnull=False)


def _export_files(site):
    return {
        path.relative_to(site.export_dir): path.read_bytes()
        for path in sorted(site.export_dir.rglob("*.jsonl"))
    }


def test_a_child_of_multi_table_inheritance_arrives_with_its_parent_row(site):
    special = make_record(site, model=Special, extra="child")

    site.roundtrip()

    assert site.exported("fidelity.Special") == {
        "all": [{"model": "fidelity.special", "pk": special.pk, "fields": {"extra": "child"}}]
    }
    assert site.exported_pks("fidelity.Record") == {special.pk}
    assert not (site.export_dir / "fidelity.SpecialProxy").exists()
    arrived = Special.objects.using(site.dev).get(pk=special.pk)
    assert field_values(arrived) == field_values(Special.objects.using(site.src).get(pk=special.pk))


@pytest.mark.parametrize("missing", ["drop", "on_delete"])
def test_a_child_goes_when_its_parent_row_is_dropped(site, missing):
    """Record.follows is SET_NULL: followers of a record left out stay without it, unless
    the settings drop them; then a child row goes with its parent row."""
    first = make_record(site)
    follower = make_record(site, follows=first)
    special_follower = make_record(site, model=Special, extra="dropped", follows=first)
    special = make_record(site, model=Special, extra="kept")
    site.configure(
        DEVDATA_MISSING_REFERENCES=missing,
        DEVDATA_STRATEGIES={
            "fidelity.Record": [
                ExactQuerySetStrategy(
                    name="some", pks=[follower.pk, special_follower.pk, special.pk]
                )
            ]
        },
    )

    site.roundtrip()

    if missing == "drop":
        records, specials = {special.pk}, {special.pk}
    else:
        records = {follower.pk, special_follower.pk, special.pk}
        specials = {special_follower.pk, special.pk}
        assert set(Record.objects.using(site.dev).values_list("follows", flat=True)) == {None}
    assert site.exported_pks("fidelity.Record") == records
    assert site.exported_pks("fidelity.Special") == specials
    assert site.pks(Special) == specials


def test_the_default_site_is_replaced_by_the_exported_one(site):
    Site.objects.using(site.src).filter(pk=1).update(domain="photos.example.org", name="Photos")
    Site.objects.using(site.src).create(pk=2, domain="admin.example.org", name="Admin")

    site.roundtrip()

    assert list(Site.objects.using(site.dev).order_by("pk").values_list("pk", "domain")) == [
        (1, "photos.example.org"),
        (2, "admin.example.org"),
    ]


def test_content_types_and_permissions_are_the_dev_databases_own(site):
    # Production's content type of Choice has another id than a fresh database gives it.
    ContentType.objects.using(site.src).get(app_label="polls", model="choice").delete()
    ContentType.objects.using(site.src).create(app_label="polls", model="choice")
    ContentType.objects.using(site.src).create(app_label="legacy", model="gone")
    create_permissions(apps.get_app_config("polls"), verbosity=0, using=site.src)
    user = User.objects.using(site.src).create(pk=1, username="u")
    user.user_permissions.add(Permission.objects.using(site.src).get(codename="view_choice"))

    site.roundtrip()

    def ids(alias):
        return (
            ContentType.objects.using(alias).get(app_label="polls", model="choice").pk,
            Permission.objects.using(alias).get(codename="view_choice").pk,
        )

    # The dev database keeps what its migrations made; the permission is matched by name.
    assert ids(site.dev) != ids(site.src)
    assert not ContentType.objects.using(site.dev).filter(app_label="legacy").exists()
    assert not (site.export_dir / "contenttypes.ContentType").exists()
    assert not (site.export_dir / "auth.Permission").exists()
    assert list(
        User.objects.using(site.dev).get(pk=1).user_permissions.values_list("codename")
    ) == [("view_choice",)]


def seed_every_table(site):
    """A row or two in every table, with the first keys a sequence would hand out."""
    src = site.src
    users = [
        User.objects.using(src).create(pk=pk, username=f"u{pk}", is_staff=pk == 1) for pk in (1, 2)
    ]
    group = Group.objects.using(src).create(pk=1, name="editors")
    permission = Permission.objects.using(src).get(codename="view_photo")
    users[0].groups.add(group)
    users[0].user_permissions.add(permission)
    group.permissions.add(permission)
    question = Question.objects.using(src).create(
        pk=1, question_text="?", pub_date=VALUES["happened_at"]
    )
    Choice.objects.using(src).create(pk=1, question=question, choice_text="yes")
    photo = Photo.objects.using(src).create(pk=1, user=users[0], taken_at=CREATED)
    photo.liked_by.add(users[1])
    World.objects.using(src).create(
        pk=1,
        riding_on=Turtle.objects.using(src).create(
            pk=2, standing_on=Turtle.objects.using(src).create(pk=1)
        ),
    )
    author = Author.objects.using(src).create(pk=1, name="a")
    book = Book.objects.using(src).create(pk=1, title="b", author=author)
    Author.objects.using(src).filter(pk=1).update(favourite_book=book)
    book.tags.add(Tag.objects.using(src).create(pk=1, name="t"))
    Edition.objects.using(src).create(pk=1, book=book, isbn="1")
    make_record(site)
    make_record(site, model=Special, extra="child")
    owner = Owner.objects.using(src).create(code="o1")
    pet = Pet.objects.using(src).create(name="rex", owner=owner, vet=owner)
    Visit.objects.using(src).create(pk=1, pet=pet, day=VALUES["day"])
    Reading.objects.using(src).create(pk=1, level=1)
    Entry.objects.using(src).create(pk=1, small=1, big=1, whole=1, text="e", owner=owner)
    document = Document.objects.using(src).create(pk=1, code="d1")
    Attachment.objects.using(src).create(pk=1, document_code="d1", name="a")
    user_type = ContentType.objects.db_manager(src).get_for_model(User)
    LogEntry.objects.using(src).create(pk=1, content_type_id=user_type.pk, object_id="1")
    ReferenceIndex.objects.using(src).create(
        pk=1,
        content_type=user_type,
        object_id=1,
        to_content_type=ContentType.objects.db_manager(src).get_for_model(Document),
        to_object_id=document.pk,
    )
    # Trees: a root page with a blog post under it, a category and a folder.
    Page.objects.using(src).create(pk=1, path="0001", depth=1, numchild=1, title="home")
    BlogPage.objects.using(src).create(pk=2, path="00010001", depth=2, title="post", body="b")
    Category.objects.using(src).create(pk=1, tree_id=1, lft=1, rgt=2, depth=1, name="c")
    Folder.objects.using(src).create(pk=1, sib_order=1, name="f")


def create_one_of_each(dev):
    """New rows, with keys from the database's sequences, in every table of the site."""
    user = User.objects.using(dev).create(username="new")
    group = Group.objects.using(dev).create(name="new")
    content_type = ContentType.objects.using(dev).create(app_label="new", model="new")
    permission = Permission.objects.using(dev).create(
        name="new", codename="new", content_type=content_type
    )
    user.groups.add(group)
    user.user_permissions.add(permission)
    group.permissions.add(permission)
    Site.objects.using(dev).create(domain="new.example", name="new")
    Choice.objects.using(dev).create(
        question=Question.objects.using(dev).create(question_text="new", pub_date=CREATED),
        choice_text="new",
    )
    Photo.objects.using(dev).create(user=user, taken_at=CREATED).liked_by.add(user)
    World.objects.using(dev).create(riding_on=Turtle.objects.using(dev).create())
    author = Author.objects.using(dev).create(name="new")
    book = Book.objects.using(dev).create(title="new", author=author)
    book.tags.add(Tag.objects.using(dev).create(name="new"))
    Edition.objects.using(dev).create(book=book, isbn="new")
    Special.objects.using(dev).create(**VALUES, extra="new")
    pet = Pet.objects.using(dev).create(
        name="new", owner=Owner.objects.using(dev).create(code="new")
    )
    Visit.objects.using(dev).create(pet=pet, day=VALUES["day"])
    Reading.objects.using(dev).create(level=1)
    Entry.objects.using(dev).create(small=1, big=1, whole=1, text="new", owner=pet.owner)
    document = Document.objects.using(dev).create(code="new")
    Attachment.objects.using(dev).create(document_code="new", name="new")
    LogEntry.objects.using(dev).create(content_type_id=content_type.pk, object_id="new")
    ReferenceIndex.objects.using(dev).create(
        content_type=content_type,
        object_id=1,
        to_content_type=content_type,
        to_object_id=document.pk,
    )
    Page.objects.using(dev).create(path="0002", depth=1, title="new")
    Category.objects.using(dev).create(tree_id=2, lft=1, rgt=2, depth=1, name="new")
    Folder.objects.using(dev).create(sib_order=2, name="new")


def test_new_rows_can_be_created_in_every_table_after_the_import(site):
    seed_every_table(site)

    site.roundtrip()

    # The shop, defaults, newsroom, crm, contacts and leaks apps' tables have their own
    # round trips in test_subsets.py, test_exact_copy.py, test_rules.py, test_pii.py,
    # test_fakes.py and test_audit.py.
    numbered = [
        m
        for m in load_settings().strategies
        if isinstance(m._meta.pk, AutoFieldMixin)
        and m._meta.app_label not in ("shop", "defaults", "newsroom", "crm", "contacts", "leaks")
    ]
    before = {m: m._base_manager.using(site.dev).count() for m in numbered}
    assert all(before.values()), "every table with a sequence holds imported rows"
    create_one_of_each(site.dev)
    after = {m: m._base_manager.using(site.dev).count() for m in numbered}
    assert [model_label(m) for m in numbered if after[m] <= before[m]] == []


def test_views_made_by_migrations_exist_and_are_not_exported(site):
    users = [User.objects.using(site.src).create(pk=pk, username=f"u{pk}") for pk in (1, 2)]
    for user, photos in [(users[0], 2), (users[1], 1)]:
        for _ in range(photos):
            Photo.objects.using(site.src).create(user=user, taken_at=CREATED)

    site.roundtrip()

    connection = connections[site.dev]
    with connection.cursor() as cursor:
        assert "photofeed_photo_count" in connection.introspection.table_names(
            cursor, include_views=True
        )
    assert set(PhotoCount.objects.using(site.dev).values_list("user", "photos")) == {(1, 2), (2, 1)}
    assert not (site.export_dir / "photofeed.PhotoCount").exists()

    site.configure(DEVDATA_STRATEGIES={"photofeed.PhotoCount": [QuerySetStrategy(name="counts")]})
    site.export()

    rows = site.exported("photofeed.PhotoCount")["counts"]
    assert {(row["pk"], row["fields"]["photos"]) for row in rows} == {(1, 2), (2, 1)}


def test_export_files_load_with_loaddata(site):
    seed_every_table(site)
    site.export()
    databases.recreate_database(site.dev)
    # migrate makes the content types and permissions that rows reference by natural key.
    call_command("migrate", database=site.dev, verbosity=0)

    settings = load_settings()
    paths = [
        str(path)
        for model in build_graph(list(settings.strategies), {}).order
        for path in sorted((site.export_dir / model_label(model)).glob("*.jsonl"))
    ]
    call_command("loaddata", *paths, database=site.dev, verbosity=0)
    site.imported = True

    for model in settings.strategies:
        if not (site.export_dir / model_label(model)).is_dir():
            continue
        # Beside the rows that migrations made, which loaddata leaves (devdata_import
        # removes them).
        assert site.pks(model) >= {
            model._meta.pk.to_python(pk) for pk in site.exported_pks(model_label(model))
        }, model_label(model)
    for record in Record.objects.using(site.src):
        assert field_values(Record.objects.using(site.dev).get(pk=record.pk)) == field_values(
            record
        )


class HalfTheOwners(QuerySetStrategy):
    """A random sample drawn in SQL: each statement that runs it draws another."""

    def get_queryset(self, django_dbname, dest, model):
        owners = super().get_queryset(django_dbname, dest, model)
        return owners.filter(
            pk__in=RawSQL("SELECT id FROM fidelity_owner WHERE random() < 0.5", [])
        )


@pytest.mark.databases_only("postgres")
def test_a_random_sample_written_by_copy_keeps_its_pets(site):
    """The keys of the owners COPY writes come from the same statement as their lines, so
    the pets exported are those of the owners written, not of another draw."""
    for i in range(40):
        owner = Owner.objects.using(site.src).create(code=f"c{i}")
        Pet.objects.using(site.src).create(name=f"p{i}", owner=owner)
    site.configure(DEVDATA_STRATEGIES={"fidelity.Owner": [HalfTheOwners(name="half")]})

    output = site.export(verbosity=2)

    assert "fidelity.Owner: " in output.stdout and " rows written by COPY" in output.stdout
    owners = site.exported_pks("fidelity.Owner")
    pets = {
        row["fields"]["owner"] for rows in site.exported("fidelity.Pet").values() for row in rows
    }
    assert pets == {str(pk) for pk in owners} or pets == owners
