"""The order in which models are exported and imported, from their foreign keys.

A model comes after every model it references, and after the models its strategies
name in ``depends_on``, except that a model whose rows are *pulled* through a
reference (see :mod:`devdata_core.plan`) comes after the model that pulls them. Where
these form a cycle, it is broken first at pulls (the rows they ask for are fetched
once the pass is over), then at references whose check waits until the referenced
model is complete: self-references always, then nullable foreign keys, other
references only when a cycle has nothing else to break. Such *deferred* references are
still enforced, after the whole export (see :mod:`devdata_core.exporting`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import ForeignKey, Model

from .settings import DevdataSettings, model_label

#: The models a model depends on.
Deps = Callable[[type[Model]], set[type[Model]]]


@dataclass(frozen=True)
class Reference:
    """A foreign key from ``model`` to ``target``: rows are kept only if it points at kept rows."""

    model: type[Model]
    field: ForeignKey
    target: type[Model]

    @property
    def attname(self) -> str:
        return self.field.attname

    @property
    def target_field(self) -> str:
        """The attname of the referenced field in ``target`` (the primary key, usually)."""
        return self.field.target_field.attname

    def __str__(self) -> str:
        return f"{model_label(self.model)}.{self.field.name}"


def references(model: type[Model], ignored: Iterable[type[Model]] = ()) -> list[Reference]:
    """The foreign keys (one-to-one included) stored in ``model``'s own table.

    References to ``ignored`` models are left out (those matched by natural key).
    """
    ignored = set(ignored)
    return [
        Reference(model, f, f.related_model._meta.concrete_model)
        for f in model._meta.local_concrete_fields
        if f.is_relation
        and (f.many_to_one or f.one_to_one)
        and f.related_model._meta.concrete_model not in ignored
    ]


@dataclass
class ModelGraph:
    """Models in dependency order, with the references whose check is deferred."""

    order: list[type[Model]]
    references: dict[type[Model], list[Reference]]
    deferred: set[Reference] = field(default_factory=set)

    def referencing(self, target: type[Model]) -> list[Reference]:
        """References, from models of this graph, to ``target``."""
        return [r for refs in self.references.values() for r in refs if r.target is target]


def _soft_dependencies(model: type[Model], extra: Iterable[str]) -> set[type[Model]]:
    """Ordering-only dependencies: ``depends_on`` of strategies and natural-key dependencies."""
    labels = list(extra)
    natural_key = getattr(model, "natural_key", None)
    labels += list(getattr(natural_key, "dependencies", ()))
    return {apps.get_model(label)._meta.concrete_model for label in labels}


def build_graph(
    models: Sequence[type[Model]],
    depends_on: Mapping[type[Model], Iterable[str]],
    pulls: Iterable[Reference] = (),
    ignored: Iterable[type[Model]] = (),
    late: Iterable[type[Model]] = (),
    hints: Mapping[type[Model], Iterable[type[Model]]] = {},
) -> ModelGraph:
    """Order ``models`` so that each comes after what it references, breaking cycles.

    ``pulls`` are references whose target comes after the referencing model;
    references to ``ignored`` models play no part; ``late`` models are taken as late as
    the order allows. ``hints`` are models each should come after where nothing says
    otherwise (references the ORM does not declare): they yield to every cycle they
    are part of, since what they stand for is checked once the export is complete.
    """
    members = set(models)
    ignored = set(ignored)
    refs = {model: references(model, ignored) for model in models}
    pulled = {ref for ref in pulls if ref.model in members and ref.target in members}
    pulled_into: dict[type[Model], set[Reference]] = {m: set() for m in models}
    for ref in pulled:
        pulled_into[ref.target].add(ref)
    deferred = {r for m in models for r in refs[m] if r.target is m and r not in pulled}
    loose: set[Reference] = {r for r in pulled if r.target is r.model}
    soft = {
        model: (_soft_dependencies(model, depends_on.get(model, ())) & members) - {model}
        for model in models
    }
    hinted = {model: (set(hints.get(model, ())) & members) - {model} for model in models}

    def edges(model: type[Model]) -> set[type[Model]]:
        hard = {
            r.target
            for r in refs[model]
            if r.target in members and r not in deferred and r not in pulled
        }
        pullers = {r.model for r in pulled_into[model] if r not in loose}
        return hard | pullers | soft[model] | hinted[model]

    for component in _cycles(models, edges):
        for m in component:
            hinted[m] -= component
        # A strategy's depends_on is kept (a reverse-relationship strategy needs the
        # referencing model first) unless the hints contradict one another.
        if _cyclic_within(component, lambda m: soft[m]):
            for m in component:
                soft[m] -= component
        for ref in sorted(
            (r for r in pulled if r.model in component and r.target in component), key=str
        ):
            if ref not in loose and _reaches(ref.model, ref.target, edges, component):
                loose.add(ref)
        breakable = [
            r for m in component for r in refs[m] if r.target in component and r not in pulled
        ]
        for ref in sorted(breakable, key=lambda r: (not r.field.null, str(r))):
            if ref not in deferred and _reaches(ref.target, ref.model, edges, component):
                deferred.add(ref)

    return ModelGraph(
        order=_topological(models, edges, late=set(late)), references=refs, deferred=deferred
    )


def strategy_graph(settings: DevdataSettings) -> ModelGraph:
    """The graph of every model the settings take, with their strategies' ``depends_on``."""
    return build_graph(
        list(settings.strategies),
        {m: [d for s in ss for d in s.depends_on] for m, ss in settings.strategies.items()},
    )


def _topological(
    models: Sequence[type[Model]], deps: Deps, late: set[type[Model]] = frozenset()
) -> list[type[Model]]:
    """Kahn's algorithm, taking ready models in label order (``late`` ones last), stably."""
    waiting = {m: set(deps(m)) for m in models}
    dependants: dict[type[Model], list[type[Model]]] = {m: [] for m in models}
    for m, ds in waiting.items():
        for d in ds:
            dependants[d].append(m)
    ready = [(m in late, model_label(m), m) for m, ds in waiting.items() if not ds]
    heapq.heapify(ready)
    order = []
    while ready:
        *_, model = heapq.heappop(ready)
        order.append(model)
        for m in dependants[model]:
            waiting[m].discard(model)
            if not waiting[m]:
                heapq.heappush(ready, (m in late, model_label(m), m))
    return order


def _cyclic_within(component: set[type[Model]], deps: Deps) -> bool:
    """Whether the dependencies among ``component`` form a cycle."""
    members = sorted(component, key=model_label)
    return len(_topological(members, lambda m: deps(m) & component)) < len(members)


def _reaches(start: type[Model], goal: type[Model], deps: Deps, within: set[type[Model]]) -> bool:
    """Whether ``goal`` is reachable from ``start`` through dependencies inside ``within``.

    A reference lies on a cycle when its target reaches back to it.
    """
    seen, todo = {start}, [start]
    while todo:
        model = todo.pop()
        if model is goal:
            return True
        for dep in (deps(model) & within) - seen:
            seen.add(dep)
            todo.append(dep)
    return False


def _cycles(models: Sequence[type[Model]], deps: Deps) -> list[set[type[Model]]]:
    """Strongly connected components with more than one model (Tarjan, iterative)."""
    index: dict[type[Model], int] = {}
    low: dict[type[Model], int] = {}
    stack: list[type[Model]] = []
    on_stack: set[type[Model]] = set()
    components: list[set[type[Model]]] = []
    counter = 0
    for root in models:
        if root in index:
            continue
        work = [(root, iter(sorted(deps(root), key=model_label)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(deps(child), key=model_label))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member is node:
                            break
                    if len(component) > 1:
                        components.append(component)
    return components
