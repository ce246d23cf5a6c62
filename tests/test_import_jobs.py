"""``devdata_import --jobs``: tables load in several processes, with the same result."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.core.management.base import CommandError
from test_fidelity import create_one_of_each, seed_every_table

from sitefixtures import dev_questions
from sitetools import Site
from testsite.fidelity.models import Reading

pytestmark = pytest.mark.usefixtures("intact")


def dev_rows(site: Site) -> dict[str, list[tuple]]:
    """Every row of every table of the dev database, by model, in key order."""
    return {
        model._meta.label: list(model._base_manager.using(site.dev).order_by("pk").values_list())
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def summary(stdout: str) -> str:
    """The import's last line, but its time: rows and models, as the hooks were told them."""
    return re.sub(r" in [\d.]+s ", " ", stdout.strip().splitlines()[-1])


@pytest.mark.databases_only("postgres")
def test_a_parallel_import_lands_the_same_rows_as_one_job(site):
    seed_every_table(site)
    # More rows than a worker's share: the file is split between the workers.
    Reading.objects.using(site.src).bulk_create(Reading(pk=pk, level=pk) for pk in range(2, 300))
    site.export()
    one_job = site.import_()
    rows = dev_rows(site)

    three_jobs = site.import_("--jobs", "3", verbosity=2)

    assert dev_rows(site) == rows
    assert summary(three_jobs.stdout) == summary(one_job.stdout)
    handed = re.search(
        r"(\d+) models loaded in 3 worker processes, in (\d+) tasks", three_jobs.stdout
    )
    assert handed and 10 < int(handed[1]) < int(handed[2]), three_jobs.stdout
    create_one_of_each(site.dev)  # the sequences are past the rows the workers loaded


def test_jobs_where_a_failure_could_not_be_undone_load_in_one_job_with_a_warning(
    dev_with_old_rows,
):
    site = dev_with_old_rows
    site.export()
    # PostgreSQL loads in parallel only into a database built beside the old one.
    mode = "drop-tables" if site.vendor == "postgres" else "drop-database"

    output = site.import_("--jobs", "2", f"--reset-mode={mode}")

    warnings = [line for line in output.stderr.splitlines() if "Warning" in line]
    why = (
        f"--reset-mode={mode} does not build the new database beside the old one"
        if site.vendor == "postgres"
        else f"parallel loading is for PostgreSQL, and {site.dev!r} is"
    )
    assert len(warnings) == 1 and f"--jobs 2: loading in one job, as {why}" in warnings[0]
    assert dev_questions(site) == {1: "Prod one", 2: "Prod two"}


@pytest.mark.databases_only("sqlite")
def test_jobs_below_one_are_refused(site):
    with pytest.raises(CommandError, match=r"^--jobs 0: give 1 or more processes; nothing"):
        site.import_("--jobs", "0")
