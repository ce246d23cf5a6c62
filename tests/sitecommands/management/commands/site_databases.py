"""Create empty, or drop, the databases a site project names (every alias but ``default``,
which stands for one of them); dropping them removes the uploaded files too."""

import shutil

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from devdata_core import databases
from sitefixtures import drop_database


class Command(BaseCommand):
    help = __doc__
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "drop"])

    def handle(self, action, **options):
        connections["default"].close()
        for alias in connections:
            if alias == "default":
                continue
            if action == "create":
                databases.recreate_database(alias)
            else:
                drop_database(alias)
        if action == "drop":
            shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
