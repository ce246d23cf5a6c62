"""References the ORM does not declare: a plugin's derived references, content type + id
pairs without a ``GenericForeignKey``, and content type ids kept in plain integer columns.

The records of ``testsite.audit``: documents form a tree by code (``parent_code``),
attachments name their document by code, an audit log and a reference index point at any
row by content type and id.
"""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from devdata_core import hookimpl
from devdata_core.errors import ConfigError, DevdataError
from devdata_core.references import DerivedReference
from devdata_core.settings import load_settings
from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from sitetools import content_type
from testsite.audit.models import Attachment, Document, LogEntry, ReferenceIndex
from testsite.shop.models import Customer

pytestmark = pytest.mark.usefixtures("intact")

GENERIC_REFERENCES = {
    "audit.LogEntry": [("content_type_id", "object_id")],
    "audit.ReferenceIndex": [("content_type", "object_id"), ("to_content_type", "to_object_id")],
}


def take(site, strategies: dict | None = None) -> None:
    """Export ``strategies`` and the rest whole, with the audit app's generic references."""
    site.configure(
        DEVDATA_STRATEGIES=strategies or {},
        DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"),
        DEVDATA_GENERIC_REFERENCES=GENERIC_REFERENCES,
    )


def by_code(alias, codes):
    """The codes of a resolver's batch, each the one key it references (none if empty)."""
    return [[code] if code else [] for (code,) in codes]


class DocumentTree:
    """A project's plugin: a document needs its parent, an attachment its document."""

    def __init__(self, attachments="restrict"):
        self.attachments = attachments

    @hookimpl
    def devdata_references(self, model):
        if model is Document:
            return [
                DerivedReference(
                    Document, Document, "code", ("parent_code",), by_code, "pull", "parent"
                )
            ]
        if model is Attachment:
            return [
                DerivedReference(
                    Attachment,
                    Document,
                    "code",
                    ("document_code",),
                    by_code,
                    self.attachments,
                    "document",
                )
            ]
        return []


def seed_documents(site):
    """Two trees, a/b/c/d and e/f, with attachments 11-16; 16 names a document that is gone."""
    parents = {"a": "", "b": "a", "c": "b", "d": "c", "e": "", "f": "e"}
    for pk, (code, parent) in enumerate(parents.items(), start=1):
        Document.objects.using(site.src).create(pk=pk, code=code, parent_code=parent)
    for pk, code in zip(range(11, 17), "abcefz", strict=True):
        Attachment.objects.using(site.src).create(pk=pk, document_code=code, name=f"file {pk}")


def exported_codes(site):
    return {
        Document.objects.using(site.src).get(pk=pk).code
        for pk in site.exported_pks("audit.Document")
    }


def test_hook_devdata_references(site, devdata_plugin):
    """A sampled document brings its ancestors, which bring theirs; attachments come only
    with their documents, whichever strategy took them."""
    devdata_plugin(DocumentTree(), name="document-tree")
    seed_documents(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "audit.Document": [ExactQuerySetStrategy(name="one", pks=[3])],
            "audit.Attachment": [QuerySetStrategy(name="all")],
        },
        DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"),
    )

    site.roundtrip()

    assert site.pks(Document) == {1, 2, 3}
    assert site.exported_pks("audit.Document") == {1, 2, 3}
    assert set(site.exported("audit.Document")) == {"one", "_pulled"}
    # 16 names document "z", which production does not have either: no database enforces
    # the reference, so it comes as production has it.
    assert site.pks(Attachment) == {11, 12, 13, 16}
    codes = dict(Document.objects.using(site.dev).values_list("code", "parent_code"))
    assert codes == {"a": "", "b": "a", "c": "b"}


def test_a_kept_file_still_brings_its_ancestors(site, devdata_plugin):
    """``--no-update`` keeps the sampled documents' file; their ancestors are pulled again."""
    devdata_plugin(DocumentTree(), name="document-tree")
    seed_documents(site)
    site.configure(
        DEVDATA_STRATEGIES={"audit.Document": [ExactQuerySetStrategy(name="one", pks=[3])]},
        DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"),
    )
    site.export()

    site.export(no_update=True)

    assert {row["pk"] for row in site.exported("audit.Document")["_pulled"]} == {1, 2}
    site.import_()
    assert site.pks(Document) == {1, 2, 3}


def test_a_full_export_keeps_every_tree_and_drops_what_names_nothing(site, devdata_plugin):
    devdata_plugin(DocumentTree(), name="document-tree")
    seed_documents(site)
    site.configure(DEVDATA_STRATEGIES={}, DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"))

    site.roundtrip()

    assert site.pks(Document) == {1, 2, 3, 4, 5, 6}
    # 16 names document "z", which the source does not have: it comes as the source has it.
    assert site.pks(Attachment) == {11, 12, 13, 14, 15, 16}


def test_a_pulling_reference_brings_what_a_restricting_one_would_drop(site, devdata_plugin):
    """Attachments that pull their documents: the sample of documents grows by them."""
    devdata_plugin(DocumentTree(attachments="pull"), name="document-tree")
    seed_documents(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "audit.Document": [ExactQuerySetStrategy(name="one", pks=[6])],
            "audit.Attachment": [ExactQuerySetStrategy(name="some", pks=[13, 16])],
        },
        DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"),
    )

    site.roundtrip()

    # f (6) with its parent e (5); attachment 13 brings c (3), which brings b and a.
    assert site.pks(Document) == {1, 2, 3, 5, 6}
    # 16's document does not exist in production either: nothing to pull, and no database
    # enforces the reference, so 16 comes as production has it.
    assert site.pks(Attachment) == {13, 16}


def test_the_plan_names_derived_references(site, devdata_plugin):
    devdata_plugin(DocumentTree(), name="document-tree")
    seed_documents(site)
    take(site, {"audit.Document": [ExactQuerySetStrategy(name="one", pks=[3])]})

    plan = site.plan()

    document = plan["audit.Document"].text
    assert "pulls audit.Document through audit.Document.parent" in document
    assert "pulled by audit.Document.parent" in document
    attachment = plan["audit.Attachment"].text
    assert "restricted by audit.Attachment.document -> audit.Document" in attachment
    assert "restricted by generic relation audit.LogEntry.object_id" in plan["audit.LogEntry"].text
    assert plan.order.index("audit.Document") < plan.order.index("audit.Attachment")


@pytest.mark.parametrize(
    "declared, problem",
    [
        (
            lambda: DerivedReference(Attachment, Document, "code", ("doc",), by_code),
            "audit.Attachment has no column 'doc' (give attnames)",
        ),
        (
            lambda: DerivedReference(
                Attachment, ContentType, "id", ("document_code", "name"), by_code
            ),
            "a reference to contenttypes.ContentType names the one column that holds its ids "
            "(they are matched by natural key on import)",
        ),
    ],
)
def test_a_plugin_reference_that_cannot_work_is_named(site, devdata_plugin, declared, problem):
    class Broken:
        @hookimpl
        def devdata_references(self, model):
            return [declared()] if model is Attachment else []

    devdata_plugin(Broken(), name="broken-tree")
    site.configure(DEVDATA_STRATEGIES={}, DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"))

    with pytest.raises(DevdataError) as error:
        site.export()

    assert str(error.value) == (
        "plugin 'broken-tree', hook devdata_references for audit.Attachment: "
        f"audit.Attachment.derived reference: {problem}"
    )


# Content type + id without a GenericForeignKey -------------------------------------------


def seed_records(site):
    """Customers 1-3; log entries and index rows on customers 1 and 3, and on document 1."""
    src = site.src
    # Production's content types of customers and documents were made again after one
    # since gone: they have other ids than the dev database's migrations give them.
    ContentType.objects.using(src).create(app_label="legacy", model="gone")
    for model in (Customer, Document):
        ContentType.objects.using(src).filter(
            app_label=model._meta.app_label, model=model._meta.model_name
        ).delete()
        ContentType.objects.using(src).create(
            app_label=model._meta.app_label, model=model._meta.model_name
        )
    for pk in (1, 2, 3):
        Customer.objects.using(src).create(pk=pk, name=f"c{pk}", email=f"c{pk}@x.org")
    Document.objects.using(src).create(pk=1, code="a")
    customer, document = content_type(src, Customer), content_type(src, Document)
    for pk, (kind, object_id) in enumerate(
        [(customer, 1), (customer, 2), (customer, 3), (document, 1), (customer, 9)], start=21
    ):
        LogEntry.objects.using(src).create(
            pk=pk, content_type_id=kind.pk, object_id=str(object_id), action="change"
        )
    index = [
        (customer, 1, customer, 3),
        (customer, 2, document, 1),
        (customer, 3, document, 1),
    ]
    for pk, (kind, object_id, to_kind, to_object_id) in enumerate(index, start=31):
        ReferenceIndex.objects.using(src).create(
            pk=pk,
            content_type=kind,
            object_id=object_id,
            to_content_type=to_kind,
            to_object_id=to_object_id,
        )


def records(site, alias):
    """Log entries and index rows as (model label, id) pairs, read through the content
    types of database ``alias``."""

    def label(content_type_id):
        found = ContentType.objects.using(alias).get(pk=content_type_id)
        return f"{found.app_label}.{found.model}"

    log = {
        (pk, label(ct), object_id)
        for pk, ct, object_id in LogEntry.objects.using(alias).values_list(
            "pk", "content_type_id", "object_id"
        )
    }
    index = {
        (pk, label(ct), object_id, label(to_ct), to_object_id)
        for pk, ct, object_id, to_ct, to_object_id in ReferenceIndex.objects.using(
            alias
        ).values_list("pk", "content_type", "object_id", "to_content_type", "to_object_id")
    }
    return log, index


def test_content_type_and_id_pairs_restrict_like_generic_foreign_keys(site):
    seed_records(site)
    take(site, {"shop.Customer": [ExactQuerySetStrategy(name="some", pks=[1, 3])]})

    site.roundtrip()

    # The ids differ between the databases: copied raw, they would point elsewhere.
    assert content_type(site.src, Customer).pk != content_type(site.dev, Customer).pk
    assert content_type(site.src, Document).pk != content_type(site.dev, Document).pk
    log, index = records(site, site.dev)
    # Not 22 (customer 2 not sampled) nor 25 (customer 9 does not exist).
    assert log == {
        (21, "shop.customer", "1"),
        (23, "shop.customer", "3"),
        (24, "audit.document", "1"),
    }
    # Not 32: its customer 2 was not sampled, although the document it names was.
    assert index == {
        (31, "shop.customer", 1, "shop.customer", 3),
        (33, "shop.customer", 3, "audit.document", 1),
    }
    # The log's plain column travels as the content type's natural key.
    assert sorted(
        r["fields"]["content_type_id"] for r in site.exported("audit.LogEntry")["all"]
    ) == [
        ["audit", "document"],
        ["shop", "customer"],
        ["shop", "customer"],
    ]


def test_a_full_copy_keeps_every_record_pointing_at_the_same_objects(site):
    seed_records(site)
    take(site)

    site.roundtrip()

    log, index = records(site, site.src)
    # 25 too, although its customer 9 is gone from the source: a full copy is the source.
    assert records(site, site.dev) == (log, index)


class LogContentTypes:
    """A plugin that says the log's integer column holds content type ids."""

    @hookimpl
    def devdata_references(self, model):
        if model is not LogEntry:
            return []
        return [
            DerivedReference(
                LogEntry, ContentType, "id", ("content_type_id",), by_code, name="content type"
            )
        ]


def test_a_plugin_declares_a_column_of_content_type_ids(site, devdata_plugin):
    devdata_plugin(LogContentTypes(), name="log-content-types")
    seed_records(site)
    site.configure(DEVDATA_STRATEGIES={}, DEVDATA_DEFAULT_STRATEGY=QuerySetStrategy(name="all"))

    site.roundtrip()

    assert content_type(site.src, Customer).pk != content_type(site.dev, Customer).pk
    # Remapped, not restricted: without DEVDATA_GENERIC_REFERENCES, 25 (customer 9) stays.
    assert records(site, site.dev)[0] == records(site, site.src)[0]
    assert {
        tuple(r["fields"]["content_type_id"]) for r in site.exported("audit.LogEntry")["all"]
    } == {
        ("audit", "document"),
        ("shop", "customer"),
    }


class RemakesContentTypes:
    """Renames the dev database's content type of customers after caching it, and makes
    a new one, as a project's own ``post_migrate`` handler might: the cache then holds
    the id of another content type."""

    @hookimpl
    def devdata_before_import(self, database, src, models):
        manager = ContentType.objects.db_manager(database)
        self.cached = manager.get_by_natural_key("shop", "customer").pk
        manager.filter(pk=self.cached).update(model="customer_before")
        manager.create(app_label="shop", model="customer")


def test_natural_keys_resolve_against_the_database_not_a_cache(site, devdata_plugin):
    remaker = devdata_plugin(RemakesContentTypes(), name="remakes-content-types")
    seed_records(site)
    take(site)

    site.roundtrip()

    assert content_type(site.dev, Customer).pk != remaker.cached
    assert records(site, site.dev) == records(site, site.src)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"audit.LogEntry": [("content_type", "object_id")]},
            "DEVDATA_GENERIC_REFERENCES['audit.LogEntry']: audit.LogEntry has no field "
            "'content_type'; did you mean 'content_type_id'?",
        ),
        (
            {"audit.LogEntry": [("content_type_id", "object")]},
            "DEVDATA_GENERIC_REFERENCES['audit.LogEntry']: audit.LogEntry has no field "
            "'object'; did you mean 'object_id'?",
        ),
        (
            {"audit.LogEntry": [("action", "object_id")]},
            "DEVDATA_GENERIC_REFERENCES['audit.LogEntry']: audit.LogEntry.action is a "
            "CharField; the content type field must be a ForeignKey to ContentType or an "
            "integer field of content type ids",
        ),
        (
            {"audit.LogEntry": ["content_type_id"]},
            "DEVDATA_GENERIC_REFERENCES['audit.LogEntry']: expected a list of (content type "
            "field, id field) pairs of field names, e.g. [('content_type', 'object_id')], got "
            "['content_type_id']",
        ),
        (
            {"audit.LogEntri": []},
            "DEVDATA_GENERIC_REFERENCES: 'audit.LogEntri' is not an installed model; did you "
            "mean 'audit.LogEntry'?",
        ),
    ],
)
def test_generic_references_setting_is_checked(settings, value, expected):
    settings.DEVDATA_STRATEGIES = {}
    settings.DEVDATA_DEFAULT_STRATEGY = QuerySetStrategy(name="all")
    settings.DEVDATA_GENERIC_REFERENCES = value
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == expected
