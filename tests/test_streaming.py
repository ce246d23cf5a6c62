"""Big tables: rows stream through export and import, and the fast paths lose nothing.

The export reads rows as tuples and the import loads them with ``COPY`` or multi-row
inserts; these tests hold both to what Django's own serializer and insert produce, and
check that memory stays flat as a table grows.
"""

import gc
import json
import tracemalloc
from datetime import datetime, timezone

import pytest
from django.core import serializers
from django.db.models import Model
from test_export_files import make_polls
from test_fidelity import OTHER_VALUES, make_record

from devdata_core import exporting, hookimpl, loading
from devdata_core.serialization import encode, exported_fields
from devdata_core.settings import model_label
from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from testsite.fidelity.models import Owner, Pet, Reading, Record, Special, Visit
from testsite.polls.models import Choice, Question

pytestmark = pytest.mark.usefixtures("intact")

NOON = datetime(2024, 5, 6, 12, 0, tzinfo=timezone.utc)


class InstanceQuerySetStrategy(QuerySetStrategy):
    """Loads instances as django-devdata 1.x did: overriding ``import_objects``."""

    def import_objects(self, django_dbname, src, model, objects):
        super().import_objects(django_dbname, src, model, objects)


def make_fidelity_rows(site):
    make_record(site)
    make_record(site, **OTHER_VALUES)
    make_record(site, model=Special, extra="tab\tnew\nline \\N")
    owner = Owner.objects.using(site.src).create(code='q" ,\\ \\N')
    pet = Pet.objects.using(site.src).create(name="Rex", owner=owner)
    Visit.objects.using(site.src).create(pet=pet, day=NOON.date())
    make_polls(site)
    Question.objects.using(site.src).create(pk=100, question_text="", pub_date=NOON)


def table(model: type[Model], alias: str) -> list[tuple]:
    """Every stored value of every row of ``model``'s table, in key order."""
    names = [f.attname for f in model._meta.local_concrete_fields]
    return list(model._base_manager.using(alias).order_by("pk").values_list(*names))


def test_export_rows_are_what_djangos_serializer_writes(site):
    make_fidelity_rows(site)

    site.export()

    for model in (Record, Special, Owner, Pet, Visit, Question, Choice):
        names = {f.name for f in exported_fields(model)}
        expected = [
            encode({**row, "fields": {k: v for k, v in row["fields"].items() if k in names}})
            for row in serializers.serialize(
                "python", model._base_manager.using(site.src).order_by("pk")
            )
        ]
        written = (site.export_dir / model_label(model) / "all.jsonl").read_text()
        assert sorted(written.splitlines(keepends=True)) == sorted(expected), model


def test_the_fast_import_loads_what_djangos_insert_loads(site):
    make_fidelity_rows(site)
    models = (Record, Special, Owner, Pet, Visit, Question, Choice)
    site.export()

    site.import_()
    fast = {model: table(model, site.dev) for model in models}
    site.configure(DEVDATA_DEFAULT_STRATEGY=InstanceQuerySetStrategy(name="all"))
    site.import_()
    slow = {model: table(model, site.dev) for model in models}

    assert fast == slow
    assert fast == {model: table(model, site.src) for model in models}


def test_postgres_loads_with_copy(site):
    models = [Record, Special, Owner, Pet, Question, Choice]
    copied = [model for model in models if loading.can_copy(model, site.dev)]
    assert copied == (models if site.vendor == "postgres" else [])


def test_a_bad_value_names_its_file_and_line_and_changes_nothing(site):
    make_polls(site, questions=3)
    site.roundtrip()
    path = site.export_dir / "polls.Choice" / "all.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[2])
    row["fields"]["votes"] = "many"
    lines[2] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")
    site.reseal_export()
    Question.objects.using(site.dev).filter(pk=1).delete()

    with pytest.raises(Exception) as error:
        site.import_()

    assert str(error.value).startswith(f"{path}:3: ")
    assert "many" in str(error.value)
    assert site.pks(Question) == {2, 3}


def traced_peak(function) -> int:
    """Peak bytes Python allocated while ``function`` ran, above what it started with."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        function()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def fill_polls(site, questions: int) -> None:
    Question.objects.using(site.src).bulk_create(
        Question(pk=q, question_text=f"question {q} " * 5, pub_date=NOON)
        for q in range(1, questions + 1)
    )
    Choice.objects.using(site.src).bulk_create(
        Choice(question_id=q, choice_text=f"choice {c} of {q} " * 3, votes=c)
        for q in range(1, questions + 1)
        for c in range(2)
    )


class LoadPeak:
    """The peak of an import's load, above what the process held when the load began.

    Building the schema runs the migrations, whose model states are cycles that only
    Python's cycle collector frees, whenever it next runs: several MB that would hide
    what the rows cost. They are collected, and the peak starts, as the load begins.
    """

    def __init__(self) -> None:
        self.start = 0

    @hookimpl
    def devdata_before_import(self, database, src, models):
        gc.collect()
        tracemalloc.reset_peak()
        self.start = tracemalloc.get_traced_memory()[0]

    def of(self, function) -> int:
        tracemalloc.start()
        try:
            function()
            return tracemalloc.get_traced_memory()[1] - self.start
        finally:
            tracemalloc.stop()


def test_memory_stays_flat_as_a_table_grows(site, monkeypatch, devdata_plugin):
    """Five times the rows, about the same peak: rows stream in chunks, keys are compact."""
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 500)
    monkeypatch.setattr(loading, "BATCH_SIZE", 500)
    load = devdata_plugin(LoadPeak())
    site.configure(DEVDATA_FIELD_ANONYMISERS={})
    peaks, sizes = [], []
    for questions in (2_000, 10_000):
        site.flush_production()
        fill_polls(site, questions)
        peaks.append((traced_peak(site.export), load.of(site.import_)))
        sizes.append(sum(p.stat().st_size for p in site.export_dir.rglob("*.jsonl")))
        assert Choice.objects.using(site.dev).count() == 2 * questions

    data_growth = sizes[1] - sizes[0]
    assert data_growth > 3_500_000
    # Holding the rows would take several times their size on disk; a small fraction
    # of it is noise (what happens to be alive at the peak).
    (small_export, small_import), (big_export, big_import) = peaks
    assert big_export - small_export < data_growth / 4, peaks
    assert big_import - small_import < data_growth / 4, peaks


def test_a_subset_is_found_through_the_index(site, monkeypatch):
    """Rows referencing a sample are selected by the database, not filtered in Python."""
    fill_polls(site, 2_000)
    site.configure(
        DEVDATA_STRATEGIES={"polls.Question": [ExactQuerySetStrategy(name="few", pks=[5, 7])]},
        # The rows Python reads are counted: PostgreSQL's COPY would read them itself.
        DEVDATA_COPY_EXPORT=False,
    )
    seen = []
    real_rows = exporting.ExportRun.rows

    def counting_rows(self, queryset, columns, whole=False):
        for values in real_rows(self, queryset, columns, whole):
            seen.append(queryset.model)
            yield values

    monkeypatch.setattr(exporting.ExportRun, "rows", counting_rows)

    site.roundtrip()

    assert seen.count(Choice) == 4
    assert site.pks(Question) == {5, 7}


def test_rows_of_an_older_export_get_the_defaults_of_fields_added_since(site, monkeypatch):
    """A field added after the export gets its default; a function's, which may query the
    database, is called outside PostgreSQL's ``COPY``, where the connection can."""

    def level_after_a_query():
        return Question.objects.using(site.dev).count() + 7

    Reading.objects.using(site.src).bulk_create(Reading(pk=pk, level=pk) for pk in range(1, 4))
    site.export()
    path = site.export_dir / "fidelity.Reading" / "all.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        del row["fields"]["level"]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    site.reseal_export()
    field = Reading._meta.get_field("level")
    monkeypatch.setattr(field, "default", level_after_a_query)
    monkeypatch.delitem(field.__dict__, "_get_default", raising=False)  # cached from default

    site.import_()

    assert table(Reading, site.dev) == [(1, 7), (2, 7), (3, 7)]
