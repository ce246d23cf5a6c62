"""Extra strategies: data that lives in the database outside model tables.

Configured in ``DEVDATA_EXTRA_STRATEGIES``; exported after the models and imported
after them, inside the import transaction.
"""

from __future__ import annotations

from pathlib import Path

from . import layout
from .strategies import Logger


class ExtraImport:
    """Base of extras that put data into a freshly reset database."""

    depends_on: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._devdata_initialised = True

    def check_data(self, src: Path) -> None:
        """Raise a ``DataFileError`` if ``src`` holds nothing this extra can import.

        Called before the reset, while the old database is still there.
        """

    def import_data(self, django_dbname: str, src: Path) -> None:
        """Load this extra's data from ``src`` into ``django_dbname``."""
        raise NotImplementedError


class ExtraExport:
    """Base of extras that export data from a source database."""

    def __init__(self, *args: object, name: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.name = name

    def export_data(
        self,
        django_dbname: str,
        dest: Path,
        no_update: bool = False,
        log: Logger = lambda message: None,
    ) -> None:
        """Export this extra's data from ``django_dbname`` into ``dest``."""
        raise NotImplementedError

    def data_file(self, dest: Path) -> Path:
        return Path(dest) / layout.extra_name(self.name)
