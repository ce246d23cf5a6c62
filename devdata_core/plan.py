"""What an export takes from each model, and why.

Every foreign key of a taken model either *restricts* its rows (a row is kept only if
the row it references is exported) or *pulls* (the referenced row is brought in).
References pull where:

- a strategy says so (``pull_parents=True``, through nullable foreign keys too with
  ``pull_nullable=True``); rows brought in that way bring their own parents in turn;
- the referenced model is *reference-only*: it has no entry of its own in
  ``DEVDATA_STRATEGIES`` (so the default strategy would take it whole), references no
  configured model, directly or through such models, and other models reference it.
  It then takes just the rows that exported rows reference, so that a sample of
  customers does not carry every customer's addresses;
- the reference is a multi-table inheritance parent link: a child row comes with its
  parent row, and a parent row with its child rows.

Generic foreign keys (``content_type`` + ``object_id``, and the pairs that
``DEVDATA_GENERIC_REFERENCES`` names) restrict. References that plugins declare
(:mod:`devdata_core.references`) pull or restrict by their rule. References to content
types and permissions (:data:`~devdata_core.settings.NATURAL_KEY_MODELS`) do neither:
they are exported as natural keys and matched on import, and so are plain columns
declared to hold their ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from django.apps import apps
from django.db.models import Model

from . import layout, plugins, rules
from .anonymisation.credentials import LOGIN_SECRET_MODELS
from .graph import ModelGraph, Reference, build_graph, references
from .references import DerivedReference
from .settings import NATURAL_KEY_MODELS, DevdataSettings, model_label
from .strategies import Exportable, Strategy

#: The file name (without suffix) of a model's rows that other rows pulled in; strategy
#: names cannot start with "_", so it never clashes with a strategy's file.


def pulled_file(dest: Path, label: str) -> Path:
    """Where the rows of a model that other rows pulled in are exported."""
    return Path(dest) / layout.pulled_name(label)


@dataclass(frozen=True)
class GenericReference:
    """A content type and an object id: rows are kept only if the object is exported.

    A ``GenericForeignKey``'s fields, or a pair named in ``DEVDATA_GENERIC_REFERENCES``.
    """

    model: type[Model]
    #: The names of the content type field and of the object id field.
    ct_name: str
    fk_name: str
    #: How messages name it: the ``GenericForeignKey``'s name, or the id field's.
    name: str

    @cached_property
    def ct_attname(self) -> str:
        return self.model._meta.get_field(self.ct_name).attname

    @cached_property
    def fk_attname(self) -> str:
        return self.model._meta.get_field(self.fk_name).attname

    def __str__(self) -> str:
        return f"{model_label(self.model)}.{self.name}"


def generic_references(
    model: type[Model], declared: Iterable[tuple[str, str]] = ()
) -> list[GenericReference]:
    """``model``'s generic foreign keys, and the ``declared`` (content type, id) field pairs."""
    if not apps.is_installed("django.contrib.contenttypes"):
        return []
    # Imported here: settings import strategies before any model may be.
    from django.contrib.contenttypes.fields import GenericForeignKey

    found = [
        GenericReference(model, f.ct_field, f.fk_field, f.name)
        for f in model._meta.private_fields
        if isinstance(f, GenericForeignKey) and f.model is model
    ]
    known = {(g.ct_attname, g.fk_attname) for g in found}
    for ct_name, fk_name in declared:
        ref = GenericReference(
            model,
            model._meta.get_field(ct_name).name,
            model._meta.get_field(fk_name).name,
            model._meta.get_field(fk_name).name,
        )
        if (ref.ct_attname, ref.fk_attname) not in known:
            found.append(ref)
    return found


def natural_key_models() -> set[type[Model]]:
    """The installed models matched by natural key."""
    return {
        m
        for m in apps.get_models()
        if model_label(m) in NATURAL_KEY_MODELS
        and hasattr(m._default_manager, "get_by_natural_key")
    }


def takes_every_row(settings: DevdataSettings, model: type[Model]) -> bool:
    """Whether one of ``model``'s strategies exports all its rows (that keep references intact)."""
    return any(getattr(s, "takes_every_row", False) for s in settings.strategies.get(model, []))


def is_parent_link(ref: Reference) -> bool:
    return bool(ref.field.remote_field.parent_link)


@dataclass
class ExportPlan:
    """The export order and, per model and strategy, which references restrict or pull."""

    settings: DevdataSettings
    graph: ModelGraph
    reference_only: frozenset[type[Model]]
    natural: frozenset[type[Model]]
    generic: dict[type[Model], list[GenericReference]]
    #: Defaulted children (multi-table inheritance) of subsets: their rows come only with
    #: their parent rows, and references to them restrict.
    with_parents: frozenset[type[Model]] = frozenset()
    #: Models whose own strategies take a sample (none takes every row).
    sampled: frozenset[type[Model]] = frozenset()
    #: References that plugins declare (``devdata_references``), by model.
    derived: dict[type[Model], list[DerivedReference]] = field(default_factory=dict)
    #: Plain columns that hold keys of natural-key models (content type ids), by model:
    #: attname to the model whose keys they hold. Exported as natural keys, like
    #: foreign keys to those models.
    natural_columns: dict[type[Model], dict[str, type[Model]]] = field(default_factory=dict)
    #: Models whose rows are pulled in, and whether those rows pull through nullable keys.
    pulled: dict[type[Model], bool] = field(default_factory=dict)

    @property
    def order(self) -> list[type[Model]]:
        return self.graph.order

    def references(self, model: type[Model]) -> list[Reference]:
        return self.graph.references.get(model, [])

    def strategies(self, model: type[Model]) -> list[Strategy]:
        """The strategies that export rows of ``model`` (none for reference-only models, nor
        for those that come with their parent rows)."""
        if model in self.reference_only or model in self.with_parents:
            return []
        return self.settings.strategies.get(model, [])

    def sources(self, model: type[Model]) -> list[Strategy | None]:
        """Where rows of ``model`` come from: its strategies, and ``None`` if rows are pulled."""
        return [*self.strategies(model), *([None] if model in self.pulled else [])]

    def pulls(self, model: type[Model], strategy: Strategy | None) -> list[Reference]:
        """References through which rows of ``strategy`` (``None``: pulled rows) pull."""
        if strategy is None:
            nullable = self.pulled.get(model, False)
            asked = True
        else:
            nullable = getattr(strategy, "pull_nullable", False)
            asked = getattr(strategy, "pull_parents", False)
        return [
            ref
            for ref in self.references(model)
            if ref.target in self.graph.references
            and (
                is_parent_link(ref)
                or ref.target in self.reference_only
                or (asked and (nullable or not ref.field.null))
            )
        ]

    def children(self, model: type[Model]) -> list[Reference]:
        """Parent links of models that inherit from ``model``."""
        return [r for r in self.graph.referencing(model) if is_parent_link(r)]

    def sampled_children(self, model: type[Model]) -> list[Reference]:
        """Parent links of sampled children whose parent rows ``model``'s default strategy
        leaves to them: sampling blog posts leaves the other posts' page rows behind, while
        the other kinds of page still come whole."""
        if model not in self.settings.defaulted:
            return []
        return [r for r in self.children(model) if r.model in self.sampled]

    def describe(
        self,
        model: type[Model],
        database: str,
        affected: Mapping[tuple[str, str], int],
    ) -> list[str]:
        """How ``model`` is taken from ``database``, for ``devdata_export --plan``: each
        restricting reference says its rule (:mod:`devdata_core.rules`), and how many
        rows the export ``affected``."""
        lines = []
        if model in self.reference_only:
            lines.append("reference-only: takes just the rows that exported rows reference")
        if model in self.with_parents:
            lines.append("comes with its parent rows: takes just the children of exported rows")
        for ref in self.sampled_children(model):
            lines.append(f"leaves the parent rows of {model_label(ref.model)} to its sample")
        for strategy in self.strategies(model):
            name = getattr(strategy, "name", "")
            default = " (default strategy)" if model in self.settings.defaulted else ""
            lines.append(f"strategy {name!r}: {type(strategy).__name__}{default}")
        if not self.strategies(model) and not {model} & (self.reference_only | self.with_parents):
            lines.append("no strategy: nothing is exported")
        sources = self.sources(model)
        pulling = {ref for s in sources for ref in self.pulls(model, s)}
        for ref in self.references(model):
            counts = ", ".join(
                f"{rows:,} row{'' if rows == 1 else 's'} {rules.DONE[action]}"
                for action in ("null", "set", "drop")
                if (rows := affected.get((str(ref), action)))
            )
            if ref in pulling:
                lines.append(f"pulls {model_label(ref.target)} through {ref}")
            restricting = [s for s in sources if ref not in self.pulls(model, s)]
            found = {rules.missing_rule(ref, s, self.settings, database) for s in restricting}
            for rule in sorted(found, key=str):
                if rule.action == "keep":
                    lines.append(f"kept as is: {ref} -> {model_label(ref.target)}, {rule.reason}")
                else:
                    lines.append(
                        f"restricted by {ref} -> {model_label(ref.target)}: {rule.describe()}"
                    )
            if counts or any(rule.action != "keep" for rule in found):
                lines.append(f"  {ref}: {counts or 'no rows affected'}")
        for gref in self.generic.get(model, []):
            lines.append(f"restricted by generic relation {gref}")
        for dref in self.derived.get(model, []):
            if dref.rule == "pull":
                lines.append(f"pulls {model_label(dref.target)} through {dref}")
            else:
                lines.append(f"restricted by {dref} -> {model_label(dref.target)}")
        pulled_by = [
            str(ref)
            for other in self.order
            for ref in self.references(other)
            if ref.target is model and any(ref in self.pulls(other, s) for s in self.sources(other))
        ] + [
            str(dref)
            for other in self.order
            for dref in self.derived.get(other, [])
            if dref.rule == "pull"
            and dref.target._meta.concrete_model is model
            and self.sources(other)
        ]
        if pulled_by:
            lines.append(f"pulled by {', '.join(pulled_by)}")
        for ref in self.children(model):
            lines.append(f"brings its child rows in {model_label(ref.model)}")
        return lines


def export_plan(settings: DevdataSettings) -> ExportPlan:
    """Work out the export order and what restricts and pulls, from the settings."""
    models = list(settings.strategies)
    natural = frozenset(natural_key_models())
    refs = {m: references(m, natural) for m in models}

    declared = settings.generic_references
    generic = {m: g for m in models if (g := generic_references(m, declared.get(m, ())))}
    derived, natural_columns = _derived_references(models, natural)
    for m, grefs in generic.items():
        for gref in grefs:
            if not m._meta.get_field(gref.ct_name).is_relation:
                content_type = apps.get_model("contenttypes", "ContentType")
                natural_columns.setdefault(m, {})[gref.ct_attname] = content_type
    sampled = frozenset(_sampled(settings, models))
    reference_only, with_parents = _reference_only(settings, models, refs, generic, sampled)

    plan = ExportPlan(
        settings=settings,
        graph=ModelGraph(order=models, references=refs),
        reference_only=frozenset(reference_only),
        natural=natural,
        generic=generic,
        with_parents=frozenset(with_parents),
        sampled=sampled,
        derived=derived,
        natural_columns=natural_columns,
    )
    # Rows brought in bring their own parents: follow pulls until nothing changes.
    changed = True
    while changed:
        changed = False
        for m in models:
            for source in plan.sources(m):
                nullable = (
                    plan.pulled.get(m, False)
                    if source is None
                    else getattr(source, "pull_nullable", False)
                )
                for ref in plan.pulls(m, source):
                    if ref.target not in plan.pulled or (nullable and not plan.pulled[ref.target]):
                        plan.pulled[ref.target] = plan.pulled.get(ref.target, False) or nullable
                        changed = True
            for dref in plan.derived.get(m, []):
                target = dref.target._meta.concrete_model
                if (
                    dref.rule == "pull"
                    and target in plan.graph.references
                    and plan.sources(m)
                    and target not in plan.pulled
                ):
                    plan.pulled[target] = False
                    changed = True

    plan.graph = build_graph(
        models,
        {m: [d for s in ss for d in s.depends_on] for m, ss in settings.strategies.items()},
        pulls=_ordering_pulls(plan, models),
        ignored=natural,
        late=plan.generic,
        hints=_derived_order(plan),
    )
    return plan


def _derived_references(
    models: list[type[Model]], natural: frozenset[type[Model]]
) -> tuple[dict[type[Model], list[DerivedReference]], dict[type[Model], dict[str, type[Model]]]]:
    """What plugins declare per model: references to other rows, and plain columns that
    hold keys of natural-key models (a content type id in an integer column)."""
    derived: dict[type[Model], list[DerivedReference]] = {}
    natural_columns: dict[type[Model], dict[str, type[Model]]] = {}
    for m in models:
        for dref in plugins.derived_references(m):
            target = dref.target._meta.concrete_model
            if target in natural and len(dref.columns) == 1:
                natural_columns.setdefault(m, {})[dref.columns[0]] = target
            elif target not in natural:
                derived.setdefault(m, []).append(dref)
    return derived, natural_columns


def _derived_order(plan: ExportPlan) -> dict[type[Model], set[type[Model]]]:
    """Ordering hints of derived references: a pulled target after, a restricting one before."""
    hints: dict[type[Model], set[type[Model]]] = {}
    for m, drefs in plan.derived.items():
        for dref in drefs:
            if dref.rule == "pull":
                hints.setdefault(dref.target._meta.concrete_model, set()).add(m)
            else:
                hints.setdefault(m, set()).add(dref.target._meta.concrete_model)
    return hints


def _sampled(settings: DevdataSettings, models: list[type[Model]]) -> set[type[Model]]:
    """Models whose strategies take a sample: none of them takes every row. Models matched
    by natural key, and tables of login secrets left out, are no sample of anyone's data."""
    return {
        m
        for m in models
        if model_label(m) not in NATURAL_KEY_MODELS
        and not (model_label(m) in LOGIN_SECRET_MODELS and not settings.strategies[m])
        and not takes_every_row(settings, m)
    }


def _reference_only(
    settings: DevdataSettings,
    models: list[type[Model]],
    refs: dict[type[Model], list[Reference]],
    generic: dict[type[Model], list[GenericReference]],
    sampled: frozenset[type[Model]],
) -> tuple[set[type[Model]], set[type[Model]]]:
    """Defaulted models referenced only by models that export a subset of their rows, and
    defaulted children of subsets.

    A model exports a subset when it samples (no strategy of its own takes every row,
    :attr:`~devdata_core.strategies.Exportable.takes_every_row`), references a model that
    does, or has generic foreign keys while anything samples; models that export nothing
    (no strategy, or only factories) do not count as referencing anything. Many-to-many tables that
    Django creates follow their ends, so they decide only for a model that nothing else
    references: it is reference-only when their other ends are subsets. A defaulted
    child of a subset (multi-table inheritance) comes only with its parent rows, and rows
    that reference it are restricted by it (tags of blog posts do not pull every post
    back in). With nothing sampled, every model is taken whole.
    """
    subset = set(sampled) | (set(generic) if sampled else set())
    referencers: dict[type[Model], set[type[Model]]] = {m: set() for m in models}
    exporting = {
        m for m in models if any(isinstance(s, Exportable) for s in settings.strategies[m])
    }
    for m in exporting:
        for r in refs[m]:
            if r.target in referencers and r.target is not m and not is_parent_link(r):
                referencers[r.target].add(m)

    def referenced_only_by_subsets(model: type[Model]) -> bool:
        direct = {r for r in referencers[model] if not r._meta.auto_created}
        if direct:
            return direct <= subset
        return bool(referencers[model]) and all(
            any(r.target in subset for r in refs[through] if r.target is not model)
            for through in referencers[model]
        )

    reference_only: set[type[Model]] = set()
    with_parents: set[type[Model]] = set()
    while True:
        # Restriction first: a model that references a subset is one itself.
        grown = True
        while grown:
            restricted = {
                m
                for m in models
                if m not in subset
                and any(r.target in subset and not is_parent_link(r) for r in refs[m])
            }
            subset |= restricted
            grown = bool(restricted)
        candidates = {m for m in settings.defaulted - subset if settings.strategies.get(m)}
        # A child of a subset (multi-table inheritance) comes with its parent rows.
        children = {
            m for m in candidates if any(r.target in subset and is_parent_link(r) for r in refs[m])
        }
        found = {m for m in candidates - children if referenced_only_by_subsets(m)}
        if not found and not children:
            return reference_only, with_parents
        reference_only |= found
        with_parents |= children
        subset |= found | children


def _ordering_pulls(plan: ExportPlan, models: Iterable[type[Model]]) -> set[Reference]:
    """References that pull for every source of rows of their model: the target goes after."""
    result = set()
    for m in models:
        sources = plan.sources(m)
        if not sources:
            continue
        for ref in plan.references(m):
            if all(ref in plan.pulls(m, s) for s in sources):
                result.add(ref)
    return result
