"""Every hook devdata calls, in one place.

A plugin is any module or object with functions decorated by
:data:`devdata_core.hookimpl` whose names match these specs. Plugins come from the
``devdata`` entry-point group (the built-in ones too) and from the modules named in
``DEVDATA_PLUGINS``.

Registration hooks return what a plugin provides; devdata collects the answers of
every plugin. Lifecycle hooks are notifications: their return values are ignored,
and an exception raised in one aborts the run, reported with the plugin's name.
None of the hooks is ``firstresult``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from django.db.models import Model

    from .anonymisation.detection import Detector
    from .extras import ExtraExport, ExtraImport
    from .references import DerivedReference
    from .reporting import RunSummary
    from .reset_modes import Reset
    from .strategies import Strategy

hookspec = pluggy.HookspecMarker("devdata")


# Registration ---------------------------------------------------------------


@hookspec
def devdata_strategy_classes() -> Sequence[type[Strategy]]:
    """Return the strategy classes this plugin provides.

    Called when settings load. A registered class can be named in
    ``DEVDATA_STRATEGIES`` by its class name alone, as
    ``("RandomSampleQuerySetStrategy", {"name": "some", "count": 10})``; a
    dotted path works for any class, registered or not.
    """


@hookspec
def devdata_anonymisers() -> dict[str, Callable[..., Callable[..., Any]]]:
    """Return anonymiser factories by name.

    Called when settings load. A factory is called with the keyword arguments of a
    ``("name", {kwargs})`` entry in ``DEVDATA_FIELD_ANONYMISERS`` or
    ``DEVDATA_MODEL_ANONYMISERS`` and returns the anonymiser, a callable taking
    ``obj, field, pii_value, fake, dest`` as keyword arguments.
    """


@hookspec
def devdata_extra_strategy_classes() -> Sequence[type[ExtraExport | ExtraImport]]:
    """Return the extra strategy classes this plugin provides.

    Called when settings load; like :func:`devdata_strategy_classes`, but for
    entries of ``DEVDATA_EXTRA_STRATEGIES`` (data that lives outside model tables,
    such as database sequences).
    """


@hookspec
def devdata_reset_modes() -> Sequence[Reset]:
    """Return the reset modes this plugin provides, as :class:`Reset` instances.

    Called when ``devdata_import`` starts; each mode's ``slug`` becomes a choice
    of ``--reset-mode``. Two plugins offering one slug is an error.
    """


@hookspec
def devdata_references(model: type[Model]) -> Sequence[DerivedReference]:
    """Return the references of ``model`` that are not foreign keys, as
    :class:`~devdata_core.references.DerivedReference` objects (empty if none).

    Called once per model when an export plan is built (every ``devdata_export``, and
    ``--plan``). The export restricts by or pulls through each reference, by its
    ``rule``, as it does for foreign keys.
    """


@hookspec
def devdata_pii_detectors() -> Sequence[Detector]:
    """Return detectors of fields that look personal, for the personal-data check.

    Called each time the check runs (``manage.py check``, before every
    ``devdata_export``, ``devdata_pii``). A detector is called with each exported
    field that has no anonymiser (its model is ``field.model``) and returns a
    :class:`~devdata_core.anonymisation.detection.Suspicion` (why it looks personal,
    the Faker generator to suggest) or ``None``; the first suspicion found counts.
    """


# Export lifecycle --------------------------------------------------------------


@hookspec
def devdata_before_export(database: str, dest: Path, models: Sequence[type[Model]]) -> None:
    """Called once ``devdata_export`` has validated its settings, before any data is read.

    ``database`` is the alias exported from, ``dest`` the export directory and
    ``models`` the models about to be exported, in export order.
    """


@hookspec
def devdata_before_export_model(
    database: str, dest: Path, model: type[Model], strategies: Sequence[Strategy]
) -> None:
    """Called before the strategies of ``model`` export it."""


@hookspec
def devdata_after_export_model(database: str, dest: Path, model: type[Model], rows: int) -> None:
    """Called after every strategy of ``model`` has exported; ``rows`` is how many it wrote."""


@hookspec
def devdata_after_export(database: str, dest: Path, summary: RunSummary) -> None:
    """Called after a successful export, once every file is complete."""


# Import lifecycle --------------------------------------------------------------


@hookspec
def devdata_before_import(database: str, src: Path, models: Sequence[type[Model]]) -> None:
    """Called inside the import transaction, after the reset and the schema, before any row.

    ``models`` are the models about to be imported, in import order.
    """


@hookspec
def devdata_before_import_model(
    database: str, src: Path, model: type[Model], strategies: Sequence[Strategy]
) -> None:
    """Called inside the import transaction before the strategies of ``model`` import it."""


@hookspec
def devdata_after_import_model(database: str, src: Path, model: type[Model], rows: int) -> None:
    """Called inside the import transaction once ``model`` is imported; ``rows`` were loaded."""


@hookspec
def devdata_after_import(database: str, src: Path, summary: RunSummary) -> None:
    """Called inside the import transaction once every row, extra and sequence is in place.

    The place for in-house set-up such as creating a known login account: it can
    use the ORM (primary-key sequences are already reset), and if it raises, the
    whole import is rolled back.
    """
