"""The base classes of strategies: how a model's data gets into a fresh database.

A model is configured with a list of strategies (``DEVDATA_STRATEGIES``). Each one
imports data (:meth:`Strategy.import_data`); an :class:`Exportable` one also exports
it first, to ``<dest>/<app_label.ModelName>/<name>.jsonl``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from django.db.models import Model

from . import layout

Logger = Callable[[str], None]

#: What becomes of rows whose references point at rows a sample left out
#: (``DEVDATA_MISSING_REFERENCES``, a strategy's ``missing_references``; see
#: :mod:`devdata_core.rules`): what their foreign key's ``on_delete`` says, or dropped.
MissingReferences = Literal["on_delete", "drop"]


class Strategy:
    """Base strategy: defines how to get data for a model into a fresh database."""

    #: Labels of models whose data must be imported (and exported) before this one's.
    depends_on: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._devdata_initialised = True

    def import_data(self, django_dbname: str, src: Path, model: type[Model]) -> None:
        """Load data for ``model`` into the freshly reset database ``django_dbname``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        name = getattr(self, "name", None)
        return f"{type(self).__name__}(name={name!r})" if name else f"{type(self).__name__}()"


class Exportable:
    """Mixin for strategies that export data from a source database first."""

    #: Whether exported rows bring in the rows they reference through non-null foreign
    #: keys (see :mod:`devdata_core.plan`), and through nullable ones too.
    pull_parents: bool = False
    pull_nullable: bool = False
    #: What becomes of rows whose references point at rows left out: ``"on_delete"`` or
    #: ``"drop"`` (see :mod:`devdata_core.rules`); ``None`` follows
    #: ``DEVDATA_MISSING_REFERENCES``.
    missing_references: MissingReferences | None = None

    @property
    def takes_every_row(self) -> bool:
        """Whether this strategy exports every row of its model (those that keep references
        intact): then its model is not a sample, and models it references are taken whole."""
        return False

    @property
    def loads_data_file(self) -> bool:
        """Whether ``import_data`` only loads the data file with
        :func:`~devdata_core.importing.load_file`: then ``devdata_import --jobs`` may
        load it in another process instead."""
        return False

    def __init__(self, *args: object, name: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.name = name

    def export_data(
        self,
        django_dbname: str,
        dest: Path,
        model: type[Model],
        no_update: bool = False,
        log: Logger = lambda message: None,
    ) -> None:
        """Export ``model`` from ``django_dbname`` into ``dest``.

        ``no_update`` asks to keep a data file that already exists.
        """
        raise NotImplementedError

    def data_file(self, dest: Path, app_model_label: str) -> Path:
        """Where this strategy's data for a model lives: one JSON object per line."""
        return Path(dest) / layout.data_name(app_model_label, self.name)

    def existing_data_file(self, src: Path, app_model_label: str) -> Path | None:
        """The data file to import: this version's ``.jsonl``, or a 1.x ``.json`` array."""
        path = self.data_file(src, app_model_label)
        for candidate in (path, path.with_suffix(layout.LEGACY_DATA_SUFFIX)):
            if candidate.is_file():
                return candidate
        return None
