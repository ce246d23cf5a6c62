"""The base class of reset modes: how ``devdata_import`` prepares the target database.

Plugins provide the modes through the ``devdata_reset_modes`` hook.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar


class Reset(abc.ABC):
    """A way to make the target database ready for the import's schema and data."""

    #: The value of ``--reset-mode`` that selects this mode.
    slug: ClassVar[str]
    #: What the mode does, completing "devdata_import will ..." in the confirmation.
    description_for_confirmation: ClassVar[str]
    #: Whether the mode destroys data, so that the import asks before running it.
    destructive: ClassVar[bool] = True

    @abc.abstractmethod
    def reset_database(self, django_dbname: str) -> None:
        """Prepare the database behind alias ``django_dbname``.

        Raise :class:`devdata_core.errors.DevdataError` to refuse with a message.
        """

    @contextmanager
    def prepared(self, django_dbname: str) -> Iterator[bool]:
        """Prepare the database for the block that builds its schema and loads the export.

        Yields whether the database is as it was before the import if the block fails.
        This calls :meth:`reset_database` (as devdata 1.x did) and yields ``not
        destructive``; a mode that builds the new database beside the old one and swaps
        it in once loaded overrides it.
        """
        self.reset_database(django_dbname)
        yield not self.destructive

    def __str__(self) -> str:
        return self.slug
