"""What becomes of a row whose reference points at a row the export leaves out.

Where a reference restricts (its target model was sampled), the rows that a sample
leaves out count as deleted, and each foreign key's ``on_delete`` decides, as Django
would on delete: ``SET_NULL`` keeps the row with the reference set to NULL,
``SET_DEFAULT`` and ``SET(value)`` keep it with that value (when it is a plain value,
exported itself or NULL), and everything else drops the row. ``DEVDATA_MISSING_REFERENCES
= "drop"`` (or a strategy's ``missing_references="drop"``) drops it always, as
django-devdata 1.x did. A reference that the source database does not enforce
(``db_constraint=False``, or no foreign keys at all) never restricts: its rows are
exported as they are. A rule never brings rows in: a sample stays a sample.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from typing import Any, Literal

from django.db import connections
from django.db.models import SET_DEFAULT, SET_NULL, ForeignKey, Model

from .graph import Reference
from .settings import DevdataSettings

#: ``keep``: the row stays as it is; ``null``/``set``: it stays with the reference set to
#: NULL or to ``Rule.value``; ``drop``: it is not exported.
Action = Literal["keep", "null", "set", "drop"]


@dataclass(frozen=True)
class Rule:
    """What happens to a row whose reference points at a row the export does not hold."""

    action: Action
    #: The value ``set`` writes into the reference (a key of the target model).
    value: Any = None
    #: Why, for ``devdata_export --plan``.
    reason: str = ""

    def apply(self, keys: Container[Any]) -> Any:
        """The value the reference takes in a row this rule keeps, whose target is not
        among ``keys`` (the target's exported keys), or :data:`DROP`."""
        if self.action == "null":
            return None
        if self.action == "set" and self.value in keys:
            return self.value
        return DROP

    def describe(self) -> str:
        outcome = {
            "keep": "kept unchanged",
            "null": "kept with NULL",
            "set": f"kept with {self.value!r} (dropped if that row is not exported)",
            "drop": "dropped",
        }[self.action]
        return f"{self.reason}: rows whose target is left out are {outcome}"


#: What :meth:`Rule.apply` answers when the rule drops the row.
DROP = object()

#: Past participles of the actions, for counts of the rows a rule affected.
DONE = {"null": "nulled", "set": "set", "drop": "dropped"}


def enforced(ref: Reference, database: str) -> bool:
    """Whether the source database keeps ``ref`` intact: otherwise rows are exported as
    they are, dangling references included (history of deleted rows, say)."""
    return bool(ref.field.db_constraint) and connections[database].features.supports_foreign_keys


def missing_rule(
    ref: Reference, strategy: object | None, settings: DevdataSettings, database: str
) -> Rule:
    """The rule for rows of ``strategy`` (``None``: pulled rows) whose ``ref`` is missing."""
    if not enforced(ref, database):
        return Rule("keep", reason="not enforced by the source database")
    own = getattr(strategy, "missing_references", None)
    if (own or settings.missing_references) == "drop":
        where = "missing_references" if own else "DEVDATA_MISSING_REFERENCES"
        return Rule("drop", reason=f"{where}='drop'")
    return on_delete_rule(ref.field)


def on_delete_rule(field: ForeignKey) -> Rule:
    """What Django's ``on_delete`` of ``field`` does to a row whose target is deleted."""
    on_delete = field.remote_field.on_delete
    if on_delete is SET_NULL:
        return Rule("null", reason="on_delete=SET_NULL")
    if on_delete is SET_DEFAULT:
        reason = "on_delete=SET_DEFAULT"
        if not field.has_default() or callable(field.default):
            return Rule("drop", reason=f"{reason} without a plain default")
        value = field.get_default()
    elif getattr(on_delete, "deconstruct", lambda: ("",))()[0] == "django.db.models.SET":
        reason = "on_delete=SET(...)"
        value = on_delete.deconstruct()[1][0]
        if callable(value):
            return Rule("drop", reason=f"{reason} with a callable")
        if isinstance(value, Model):
            value = getattr(value, field.target_field.attname)
    else:
        return Rule("drop", reason=f"on_delete={getattr(on_delete, '__name__', on_delete)}")
    if value is None:
        return Rule("null" if field.null else "drop", reason=reason)
    if field.unique:
        return Rule("drop", reason=f"{reason} on a unique field")
    return Rule("set", field.target_field.to_python(value), reason=reason)
