"""The manifest is the export's commit point: a re-export replaces the old one whole or
not at all, and the import verifies every file against it before anything is dropped."""

from __future__ import annotations

import hashlib
import json
import signal
from datetime import datetime, timezone

import pytest
from django.core.management.base import CommandError

from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from sitefixtures import OLD_DEV_QUESTIONS, dev_questions
from testsite.polls.models import Choice, Question

NOON = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def make_polls(site, questions=3, choices=3):
    for q in range(1, questions + 1):
        question = Question.objects.using(site.src).create(
            pk=q, question_text=f"q{q}", pub_date=NOON
        )
        for c in range(choices):
            Choice.objects.using(site.src).create(question=question, choice_text=f"c{c}")


def snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def beside_export(site):
    """What lies next to the export directory: the export, no leftovers (the
    lock files stay)."""
    return sorted(
        p.name
        for p in site.export_dir.parent.iterdir()
        if "export" in p.name and not p.name.endswith("lock")
    )


def staging_dirs(site):
    return [p for p in site.export_dir.parent.iterdir() if ".devdata-staging-" in p.name]


def check(site, src=None, **env):
    return site.cli("devdata_import", "--check", str(src or site.export_dir), **env)


def test_the_manifest_lists_every_file_with_its_rows_bytes_and_checksum(site):
    make_polls(site)
    site.configure(
        DEVDATA_MODEL_ANONYMISERS={"polls.Choice": {"choice_text": ("const", {"value": "secret"})}}
    )

    site.export()

    manifest = json.loads((site.export_dir / "manifest.json").read_text())
    files = {
        p.relative_to(site.export_dir).as_posix(): p.read_bytes()
        for p in site.export_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert {e["name"]: (e["bytes"], e["sha256"]) for e in manifest["entries"]} == {
        name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()
    }
    rows = {e["name"]: e["rows"] for e in manifest["entries"]}
    assert rows["polls.Choice/all.jsonl"] == 9
    assert rows["polls.Question/all.jsonl"] == 3
    assert rows["migrations.json"] is None
    assert manifest["migrations"] == "migrations.json"
    assert manifest["format_version"] == 1
    assert manifest["source"]["vendor"] == {"sqlite": "sqlite", "postgres": "postgresql"}.get(
        site.vendor, "mysql"
    )
    assert set(manifest["versions"]) >= {"devdata-core", "devdata-queryset"}
    assert manifest["started"] <= manifest["finished"]
    assert manifest["settings"]["strategies"]["polls.Choice"] == [
        {"class": "devdata_queryset.strategies.QuerySetStrategy", "name": "all"}
    ]
    assert list(manifest["settings"]["model_anonymisers"]["polls.Choice"]) == ["choice_text"]
    text = (site.export_dir / "manifest.json").read_text()
    assert "secret" not in text and "devdata tests only" not in text  # no values, no SECRET_KEY
    assert beside_export(site) == ["export"]


# Killed exports ------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["row", "model", "commit"])
def test_an_export_killed_leaves_the_previous_export_which_imports(site, point, tmp_path):
    make_polls(site)
    site.export()
    before = snapshot(site.export_dir)
    Question.objects.using(site.src).filter(pk=3).delete()
    Question.objects.using(site.src).create(pk=4, question_text="q4", pub_date=NOON)
    marker = tmp_path / "paused"

    export = site.start_cli(
        "devdata_export",
        str(site.export_dir),
        "--database",
        site.src,
        "--settings",
        "testsite.settings_pausing",
        DEVDATA_TEST_PAUSE=point,
        DEVDATA_TEST_MARKER=str(marker),
    )
    site.wait_for_file(marker, export)
    [staged] = staging_dirs(site)
    # The run got where the test says: new rows written beside the old export.
    staged_questions = (staged / "polls.Question" / "all.jsonl").read_text().splitlines()
    assert {json.loads(line)["pk"] for line in staged_questions} == {1, 2, 4}
    assert (staged / "polls.Choice" / "all.jsonl.partial").exists() == (point == "row")
    assert (staged / "polls.Choice" / "all.jsonl").exists() == (point == "commit")
    export.send_signal(signal.SIGKILL)
    export.wait(timeout=30)
    export.stdout.close()
    export.stderr.close()

    assert snapshot(site.export_dir) == before
    assert check(site).returncode == 0
    site.import_()
    assert site.pks(Question) == {1, 2, 3}

    output = site.export(no_update=True)

    assert "kept" in output.stdout
    assert beside_export(site) == ["export"]
    result = check(site)
    assert result.returncode == 0, result.stderr
    assert snapshot(site.export_dir).keys() == before.keys()


@pytest.mark.databases_only("sqlite")
def test_a_second_export_to_one_directory_refuses_while_the_first_runs(site, tmp_path):
    make_polls(site)
    marker = tmp_path / "paused"
    first = site.start_cli(
        "devdata_export",
        str(site.export_dir),
        "--settings",
        "testsite.settings_pausing",
        DEVDATA_TEST_PAUSE="model",
        DEVDATA_TEST_MARKER=str(marker),
    )
    try:
        site.wait_for_file(marker, first)

        second = site.cli("devdata_export", str(site.export_dir))
    finally:
        first.kill()
        first.communicate(timeout=30)

    assert second.returncode == 1
    assert second.stderr == (
        f"DevdataError: another devdata_export (pid {first.pid}) is writing "
        f"{site.export_dir}: wait for it to finish, or export elsewhere; nothing was written\n"
    )
    assert not site.export_dir.exists()
    site.export()
    assert beside_export(site) == ["export"]


@pytest.mark.databases_only("sqlite")
def test_an_export_waits_to_swap_in_until_an_import_reading_its_directory_has_loaded(
    site, tmp_path
):
    """The import loads the files it verified: an export to the same directory meanwhile
    writes beside it and swaps in only once the import has committed."""
    make_polls(site)
    site.export()
    before = snapshot(site.export_dir)
    Question.objects.using(site.src).filter(pk=3).delete()
    Question.objects.using(site.src).create(pk=4, question_text="q4", pub_date=NOON)
    paused, resume = tmp_path / "paused", tmp_path / "resume"
    importing = site.start_cli(
        "devdata_import",
        str(site.export_dir),
        "--database",
        site.dev,
        "--no-input",
        "--settings",
        "testsite.settings_pausing",
        DEVDATA_TEST_PAUSE="import",
        DEVDATA_TEST_MARKER=str(paused),
        DEVDATA_TEST_RESUME=str(resume),
    )
    export = None
    try:
        site.wait_for_file(paused, importing)
        assert check(site).returncode == 0  # readers share the directory
        export = site.start_cli(
            "devdata_export", str(site.export_dir), "--database", site.src, PYTHONUNBUFFERED="1"
        )
        waiting = f"waiting for an import reading {site.export_dir} to finish before replacing it"
        said = []
        while waiting not in said and (line := export.stdout.readline().decode()):
            said.append(line.rstrip("\n"))
        assert waiting in said, said
        # Its new export is written beside the old one, which the import still reads.
        assert export.poll() is None
        assert snapshot(site.export_dir) == before
    finally:
        resume.touch()
        imported = importing.communicate(timeout=60)
        exported = export.communicate(timeout=60) if export else None

    assert importing.returncode == 0, imported[1].decode()
    assert site.pks(Question) == {1, 2, 3}
    assert export.returncode == 0, exported[1].decode()
    assert waiting not in exported[0].decode()  # said once
    assert site.exported_pks("polls.Question") == {1, 2, 4}
    assert beside_export(site) == ["export"]


# Damaged exports -------------------------------------------------------------------------


def truncate(site):
    path = site.export_dir / "polls.Choice" / "all.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    return f"{path} has 1 rows where the manifest lists 2: export again; nothing was changed"


def add_file(site):
    path = site.export_dir / "polls.Choice" / "old.jsonl"
    path.write_text("")
    return (
        f"{path} is not in the export's manifest: remove it, or export again; nothing was changed"
    )


def change_a_byte(site):
    path = site.export_dir / "polls.Question" / "all.jsonl"
    path.write_text(path.read_text().replace("Prod one", "Prod onE"))
    return (
        f"{path} was changed after the export (its SHA-256 differs from the manifest's): "
        "export again; nothing was changed"
    )


def remove_file(site):
    path = site.export_dir / "polls.Question" / "all.jsonl"
    path.unlink()
    return f"{path} is missing: export again; nothing was changed"


def remove_pulled_file(site):
    path = site.export_dir / "polls.Question" / "_pulled.jsonl"
    path.unlink()
    return f"{path} is missing: export again; nothing was changed"


DAMAGE = [truncate, add_file, change_a_byte, remove_file, remove_pulled_file]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__ for d in DAMAGE])
def test_a_damaged_export_is_refused_before_the_reset(dev_with_old_rows, damage):
    site = dev_with_old_rows
    if damage is remove_pulled_file:
        site.configure(
            DEVDATA_STRATEGIES={
                "polls.Question": [ExactQuerySetStrategy(name="all", pks=[1])],
                "polls.Choice": [QuerySetStrategy(name="all", pull_parents=True)],
                # The check runs with the site's settings, where nothing is sampled and
                # tags come whole: so they do here (else they would be reference-only).
                "shop.Tag": [QuerySetStrategy(name="all")],
            }
        )
    site.export()
    assert check(site).returncode == 0
    message = damage(site)

    with pytest.raises(CommandError) as error:
        site.import_()

    assert str(error.value) == message
    assert dev_questions(site) == OLD_DEV_QUESTIONS
    result = check(site)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"DataFileError: {message}\n"


def test_an_export_without_a_manifest_imports_with_a_warning(site):
    make_polls(site)
    site.export()
    (site.export_dir / "manifest.json").unlink()

    output = site.import_()

    assert output.stderr.count("Warning:") == 1
    assert (
        f"Warning: {site.export_dir} has no manifest.json (an export of django-devdata 1.x or "
        "of an earlier devdata): it cannot be verified\n" in output.stderr
    )
    assert site.pks(Question) == {1, 2, 3}


# devdata_import --check --------------------------------------------------------------------


@pytest.mark.databases_only("sqlite")
def test_check_verifies_an_export_and_touches_no_database(site, tmp_path):
    make_polls(site)
    site.export()
    databases = tmp_path / "databases"
    databases.mkdir()

    good = check(site, DEVDATA_TEST_SQLITE_DIR=str(databases))

    assert good.returncode == 0, good.stderr
    assert good.stderr == ""
    [line] = good.stdout.splitlines()
    assert line.startswith(f"OK: {site.export_dir}: ")
    assert "rows match its manifest" in line
    assert list(databases.iterdir()) == []

    change_byte = site.export_dir / "polls.Choice" / "all.jsonl"
    change_byte.write_bytes(change_byte.read_bytes().replace(b"c1", b"c2", 1))

    bad = check(site, DEVDATA_TEST_SQLITE_DIR=str(databases))

    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr == (
        f"DataFileError: {change_byte} was changed after the export (its SHA-256 differs from "
        "the manifest's): export again; nothing was changed\n"
    )
    assert list(databases.iterdir()) == []


@pytest.mark.databases_only("sqlite")
def test_check_reads_every_line_of_an_export_without_a_manifest(site):
    make_polls(site)
    site.export()
    (site.export_dir / "manifest.json").unlink()
    path = site.export_dir / "polls.Choice" / "all.jsonl"
    path.write_text(path.read_text() + "{not json\n")

    result = check(site)

    assert result.returncode == 1
    assert "has no manifest.json" in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"DataFileError: {path}:10: not valid JSON")


# Exporting only some models, --no-update ------------------------------------------------------


@pytest.mark.databases_only("sqlite")
def test_no_update_exports_again_the_files_that_no_longer_match_the_manifest(site):
    make_polls(site)
    site.export()
    choices = site.export_dir / "polls.Choice" / "all.jsonl"
    questions = site.export_dir / "polls.Question" / "all.jsonl"
    kept = questions.read_bytes()
    choices.write_text(choices.read_text().splitlines(keepends=True)[0])
    Choice.objects.using(site.src).filter(pk=9).delete()

    output = site.export(no_update=True)

    assert questions.read_bytes() == kept
    assert f"{choices} has 1 rows where the manifest lists 9: not kept" in output.stderr
    assert site.exported_pks("polls.Choice") == set(range(1, 9))
    assert check(site).returncode == 0


@pytest.mark.databases_only("sqlite")
def test_exporting_one_model_links_the_other_files_of_the_old_export(site):
    make_polls(site)
    site.export()
    questions = site.export_dir / "polls.Question" / "all.jsonl"
    inode = questions.stat().st_ino
    Choice.objects.using(site.src).filter(pk=9).delete()

    site.export("polls.Choice")

    assert questions.stat().st_ino == inode
    assert site.exported_pks("polls.Choice") == set(range(1, 9))
    assert check(site).returncode == 0
    assert beside_export(site) == ["export"]


@pytest.mark.databases_only("sqlite")
def test_an_export_refuses_to_replace_a_directory_that_is_not_an_export(site):
    site.export_dir.mkdir()
    (site.export_dir / "settings.py").write_text("DEBUG = True\n")

    result = site.cli("devdata_export", str(site.export_dir))

    assert (result.returncode, result.stderr) == (
        1,
        f"DevdataError: {site.export_dir} holds files that are not a devdata export, which an "
        "export would replace: pass a new or empty directory; nothing was written\n",
    )
    assert [p.name for p in site.export_dir.iterdir()] == ["settings.py"]


def export_a_strategy_then_drop_it(site, export):
    """Export questions with two strategies (``first``, ``rest``), then configure only
    ``first``, as a project that removed a strategy since the export."""
    make_polls(site, choices=0)
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Question": [
                ExactQuerySetStrategy(name="first", pks=[1]),
                QuerySetStrategy(name="rest"),
            ]
        }
    )
    export()
    site.configure(
        DEVDATA_STRATEGIES={"polls.Question": [ExactQuerySetStrategy(name="first", pks=[1])]}
    )


def test_a_listed_file_no_strategy_reads_is_named_on_import(site):
    export_a_strategy_then_drop_it(site, site.export)

    output = site.import_()

    unread = site.export_dir / "polls.Question" / "rest.jsonl"
    assert (
        f"Warning: {unread} is not imported: no strategy in DEVDATA_STRATEGIES reads it\n"
        in output.stderr
    )
    assert site.pks(Question) == {1}


@pytest.mark.databases_only("sqlite")
def test_an_export_set_aside_by_a_killed_swap_is_put_back_by_the_next_run(site):
    """Where directories cannot be exchanged in one step, the old export is renamed aside
    before the new one is renamed in; a run killed in between leaves only the aside copy."""
    make_polls(site)
    site.export()
    before = snapshot(site.export_dir)
    aside = site.export_dir.with_name(".export.devdata-old-4242")
    site.export_dir.rename(aside)

    result = site.cli(
        "devdata_export", str(site.export_dir), "--settings", "testsite.settings_export_failure"
    )

    assert result.returncode == 1
    assert snapshot(site.export_dir) == before
    assert beside_export(site) == ["export"]
