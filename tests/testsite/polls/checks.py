"""System checks that a project could have, switched on by the environment.

``DEVDATA_TEST_CHECK_QUERIES`` names a database alias whose polls table a check
queries, as some projects' checks (or URLconfs) query their database;
``DEVDATA_TEST_CHECK_ERROR`` makes a check report an error.
"""

import os

from django.core import checks


@checks.register()
def polls_are_readable(**kwargs):
    alias = os.environ.get("DEVDATA_TEST_CHECK_QUERIES")
    if alias:
        from .models import Question

        Question.objects.using(alias).exists()
    if os.environ.get("DEVDATA_TEST_CHECK_ERROR"):
        return [checks.Error("the project is misconfigured", id="polls.E001")]
    return []
