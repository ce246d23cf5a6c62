"""What an export writes, what it keeps, how it reports, and what it reads back."""

import json
import re
from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import User
from django.core import serializers
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from devdata_core import databases, exporting, importing
from devdata_core.plan import export_plan
from devdata_core.settings import load_settings, model_label
from devdata_core.strategies import Exportable
from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from testsite.fidelity.models import Owner, Pet, Visit
from testsite.photofeed.models import Photo
from testsite.polls.models import Choice, Question

pytestmark = pytest.mark.usefixtures("intact")

NOON = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
SUMMARY = re.compile(r"Exported (\d+) models, ([\d,]+) rows in \d+\.\ds to (.+)")


def make_polls(site, questions=3, choices=2):
    for q in range(1, questions + 1):
        question = Question.objects.using(site.src).create(
            pk=q, question_text=f"q{q}", pub_date=NOON
        )
        for c in range(choices):
            Choice.objects.using(site.src).create(question=question, choice_text=f"c{c}")


def exportable_labels():
    """Models with strategy files, and their names (reference-only models have none)."""
    plan = export_plan(load_settings())
    names = {
        model_label(model): [s.name for s in plan.strategies(model) if isinstance(s, Exportable)]
        for model in plan.order
    }
    return {label: found for label, found in names.items() if found}


def snapshot(directory):
    """Every file of an export, by path, with its bytes."""
    return {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_an_export_is_a_directory_of_json_lines_per_model_and_strategy(site):
    make_polls(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Question": [
                ExactQuerySetStrategy(name="first", pks=[1]),
                QuerySetStrategy(name="rest"),
            ]
        }
    )

    site.export()

    layout = {
        directory.name: sorted(p.name for p in directory.iterdir())
        for directory in site.export_dir.iterdir()
        if directory.is_dir()
    }
    assert layout == {
        label: sorted(f"{name}.jsonl" for name in names)
        for label, names in exportable_labels().items()
    }
    assert layout["polls.Question"] == ["first.jsonl", "rest.jsonl"]
    lines = (site.export_dir / "polls.Question" / "rest.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "model": "polls.question",
            "pk": pk,
            "fields": {"question_text": f"q{pk}", "pub_date": "2024-05-01T12:00:00+00:00"},
        }
        for pk in (2, 3)
    ]
    recorded = json.loads((site.export_dir / "migrations.json").read_text())
    applied = MigrationRecorder(connections[site.src]).migration_qs.order_by("id")
    assert [(m["app"], m["name"]) for m in recorded] == list(applied.values_list("app", "name"))
    assert all(set(m) == {"app", "name", "applied"} for m in recorded)
    assert not list(site.export_dir.rglob("*.partial"))


def test_no_update_keeps_existing_files_and_restricts_by_their_keys(site):
    for pk in (1, 2):
        User.objects.using(site.src).create(pk=pk, username=f"u{pk}")
        Photo.objects.using(site.src).create(pk=pk, user_id=pk, taken_at=NOON)
    site.export()
    users_file = site.export_dir / "auth.User" / "all.jsonl"
    kept = users_file.read_bytes()
    (site.export_dir / "photofeed.Photo" / "all.jsonl").unlink()
    User.objects.using(site.src).filter(pk=2).update(username="renamed")
    User.objects.using(site.src).create(pk=3, username="u3")
    Photo.objects.using(site.src).create(pk=3, user_id=3, taken_at=NOON)

    output = site.export(no_update=True)

    assert users_file.read_bytes() == kept
    assert f"auth.User (all): kept {users_file} (2 rows)" in output.stdout
    assert site.exported_pks("photofeed.Photo") == {1, 2}
    site.import_()
    assert dict(User.objects.using(site.dev).values_list("pk", "username")) == {1: "u1", 2: "u2"}


def test_no_update_drops_kept_rows_that_reference_rows_exported_again_without_them(site):
    for pk in (1, 2):
        User.objects.using(site.src).create(pk=pk, username=f"u{pk}")
        Photo.objects.using(site.src).create(pk=pk, user_id=pk, taken_at=NOON)
    site.export()
    (site.export_dir / "auth.User" / "all.jsonl").unlink()
    User.objects.using(site.src).filter(pk=2).delete()

    output = site.export(no_update=True)

    assert site.exported_pks("auth.User") == {1}
    assert site.exported_pks("photofeed.Photo") == {1}
    assert (
        "photofeed.Photo: dropped 1 rows of the existing export that referenced rows no longer "
        "exported" in output.stdout
    )
    site.import_()
    assert site.pks(Photo) == {1}


def test_exporting_only_some_models_reads_the_keys_of_the_others(site):
    """Keys read from files (UUIDs, strings, ``to_field`` codes) match the database's."""
    first, second = (Owner.objects.using(site.src).create(code=c) for c in ("c1", "c2"))
    for name, owner, vet in [("rex", first, "c1"), ("tom", first, "c2"), ("max", second, None)]:
        Pet.objects.using(site.src).create(name=name, owner=owner, vet_id=vet)
    Visit.objects.using(site.src).create(pk=1, pet_id="rex", day=NOON.date())
    Visit.objects.using(site.src).create(pk=2, pet_id="tom", day=NOON.date())
    site.configure(
        DEVDATA_STRATEGIES={"fidelity.Owner": [ExactQuerySetStrategy(name="one", pks=[first.pk])]},
        # Pet.vet is SET_NULL: dropping tom is what shows that its vet's code was looked up.
        DEVDATA_MISSING_REFERENCES="drop",
    )
    site.export()
    assert site.exported_pks("fidelity.Pet") == {"rex"}
    before = snapshot(site.export_dir)
    Pet.objects.using(site.src).create(name="kit", owner=first, vet_id="c1")
    Visit.objects.using(site.src).create(pk=3, pet_id="kit", day=NOON.date())
    Visit.objects.using(site.src).create(pk=4, pet_id="rex", day=NOON.date())

    site.export("fidelity.Pet")

    changed = {p for p, data in snapshot(site.export_dir).items() if before.get(p) != data}
    assert {str(p) for p in changed} == {"fidelity.Pet/all.jsonl", "manifest.json"}
    assert site.exported_pks("fidelity.Pet") == {"rex", "kit"}
    assert site.exported_pks("fidelity.Visit") == {1}

    site.export("fidelity.Visit")

    assert site.exported_pks("fidelity.Visit") == {1, 3, 4}
    site.import_()
    assert site.pks(Pet) == {"rex", "kit"}
    assert site.pks(Visit) == {1, 3, 4}
    assert site.pks(Owner) == {first.pk}


def test_exporting_only_a_model_drops_rows_of_others_that_referenced_its_old_rows(site):
    for pk in (1, 2):
        User.objects.using(site.src).create(pk=pk, username=f"u{pk}")
    for pk in (1, 2):
        Photo.objects.using(site.src).create(pk=pk, user_id=pk, taken_at=NOON).liked_by.add(1, 2)
    site.export()
    site.configure(DEVDATA_STRATEGIES={"auth.User": [QuerySetStrategy(name="all")]})
    User.objects.using(site.src).filter(pk=2).delete()

    output = site.export("auth.User")

    assert site.exported_pks("auth.User") == {1}
    assert site.exported_pks("photofeed.Photo") == {1}
    liked = [r["fields"] for r in site.exported("photofeed.Photo_liked_by")["all"]]
    assert liked == [{"photo": 1, "user": 1}]
    assert (
        "photofeed.Photo: dropped 1 rows of the existing export that referenced rows no longer "
        "exported" in output.stdout
    )
    site.import_()
    assert site.pks(Photo) == {1}


@pytest.mark.databases_only("sqlite")
def test_exporting_only_a_model_refuses_to_keep_another_models_damaged_file(site):
    """The other models' files are kept as they are, so one that no longer matches the
    manifest cannot be kept, nor exported again by this run: the export refuses."""
    User.objects.using(site.src).create(pk=1, username="u1")
    Photo.objects.using(site.src).create(pk=1, user_id=1, taken_at=NOON)
    site.export()
    photos = site.export_dir / "photofeed.Photo" / "all.jsonl"
    photos.write_text(photos.read_text() + photos.read_text())
    before = {path: path.read_bytes() for path in site.export_dir.rglob("*") if path.is_file()}

    with pytest.raises(CommandError) as error:
        site.export("auth.User")

    assert str(error.value) == (
        f"{photos} has 2 rows where the manifest lists 1, and this run does not export "
        "photofeed.Photo: export it too (or everything); nothing was written"
    )
    after = {path: path.read_bytes() for path in site.export_dir.rglob("*") if path.is_file()}
    assert after == before


def write_legacy_export(site, extra_migration):
    """An export as django-devdata 1.x wrote it: one JSON array per model and strategy."""
    for model, strategies in load_settings().strategies.items():
        rows = serializers.serialize("json", model._base_manager.using(site.src), indent=2)
        (site.export_dir / model_label(model)).mkdir(parents=True)
        for strategy in strategies:
            (site.export_dir / model_label(model) / f"{strategy.name}.json").write_text(rows)
    recorder = MigrationRecorder(connections[site.src])
    migrations = [
        {"app": app, "name": name, "applied": applied}
        for app, name, applied in recorder.migration_qs.order_by("id").values_list(
            "app", "name", "applied"
        )
    ]
    app, name = extra_migration
    migrations.append({"app": app, "name": name, "applied": NOON})
    (site.export_dir / "migrations.json").write_text(
        json.dumps(migrations, indent=4, cls=DjangoJSONEncoder)
    )


def test_an_export_of_django_devdata_1_imports(site):
    make_polls(site)
    for pk in (1, 2):
        User.objects.using(site.src).create(pk=pk, username=f"u{pk}")
    Photo.objects.using(site.src).create(pk=1, user_id=1, taken_at=NOON).liked_by.add(1, 2)
    write_legacy_export(site, ("polls", "0002_from_the_future"))
    assert '"liked_by": [' in (site.export_dir / "photofeed.Photo" / "all.json").read_text()

    output = site.import_()

    for model in (Question, Choice, User, Photo, Photo.liked_by.through):
        assert site.pks(model) == site.pks(model, where="src"), model
    assert Question.objects.using(site.dev).get(pk=1).pub_date == NOON
    liked_by = Photo.objects.using(site.dev).get(pk=1).liked_by
    assert set(liked_by.values_list("pk", flat=True)) == {1, 2}
    assert (
        "Warning: app 'polls' is at another migration state than the export's source: "
        "source applied 0002_from_the_future, which this project lacks" in output.stderr
    )


def test_progress_goes_to_stderr_and_the_summary_to_stdout(site):
    make_polls(site, choices=0)

    output = site.export()

    [line] = output.stdout.splitlines()
    models, rows, dest = SUMMARY.fullmatch(line).groups()
    files = [p for p in site.export_dir.rglob("*.jsonl") if p.stat().st_size]
    # Models with rows (polls.Question, sites.Site), as the lines on stderr show them; not
    # every model taken.
    assert int(models) == len({p.parent for p in files}) < len(load_settings().strategies)
    assert int(rows.replace(",", "")) == sum(len(p.read_text().splitlines()) for p in files) > 3
    assert dest == str(site.export_dir)
    assert re.search(r"^polls.Question \(all\): 3 rows in \d+\.\d\ds$", output.stderr, re.M)
    assert "Warning: strategy 'all' for polls.Choice selected no rows" in output.stderr
    assert "Warning: strategy 'all' for polls.Question" not in output.stderr

    quiet = site.export(verbosity=0)

    assert (quiet.stdout, quiet.stderr) == ("", "")
    imported = site.import_().stdout
    # Last, after the rows that the dev database's migrations made were removed.
    assert imported.splitlines()[-1].startswith(f"Imported {models} models, {rows} rows in ")


@pytest.mark.databases_only("sqlite")
def test_a_quiet_export_prints_nothing(site):
    make_polls(site)

    result = site.cli("devdata_export", str(site.export_dir), "--verbosity", "0")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert site.exported_pks("polls.Question") == {1, 2, 3}


def beside_export(site):
    """What lies next to the export directory: the export, no leftovers (the
    lock files stay)."""
    return sorted(p.name for p in site.export_dir.parent.iterdir() if not p.name.endswith("lock"))


@pytest.mark.databases_only("sqlite")
def test_an_export_that_fails_part_way_leaves_the_previous_export_as_it_was(site):
    make_polls(site)
    site.export()
    before = snapshot(site.export_dir)

    result = site.cli(
        "devdata_export",
        str(site.export_dir),
        "--settings",
        "testsite.settings_export_failure",
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "StrategyError: exporting polls.Choice with strategy 'broken' failed: "
        "RuntimeError: the replica went away"
    )
    assert "Traceback" not in result.stderr
    assert snapshot(site.export_dir) == before
    assert beside_export(site) == ["export"]


def test_an_anonymiser_failing_mid_file_leaves_no_export(site):
    make_polls(site)

    def fail_on_the_fourth(*, obj, pii_value, **_context):
        if obj.pk == 4:
            raise ValueError("cannot anonymise this one")
        return pii_value

    site.configure(DEVDATA_MODEL_ANONYMISERS={"polls.Choice": {"choice_text": fail_on_the_fourth}})

    with pytest.raises(CommandError) as error:
        site.export()

    assert str(error.value) == (
        "anonymiser of polls.Choice.choice_text failed on pk 4 (strategy 'all'): "
        "ValueError: cannot anonymise this one"
    )
    assert beside_export(site) == []


def test_tables_larger_than_a_chunk_export_and_import_every_row(site, monkeypatch):
    monkeypatch.setattr(exporting, "CHUNK_SIZE", 7)
    monkeypatch.setattr(databases, "MYSQL_KEYS_PER_QUERY", 10)
    monkeypatch.setattr(importing, "BATCH_SIZE", 5)
    make_polls(site, questions=40, choices=2)
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Question": [ExactQuerySetStrategy(name="most", pks=range(1, 31))],
        }
    )

    site.roundtrip()

    assert site.pks(Question) == set(range(1, 31))
    expected = set(Choice.objects.using(site.src).filter(question__lte=30).values_list("pk"))
    assert set(Choice.objects.using(site.dev).values_list("pk")) == expected
    assert len(expected) == 60
