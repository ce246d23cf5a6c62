"""devdata-treebeard end to end: trees of pages, categories and folders in production,
exported whole or in part, and sound in the dev database afterwards.

``testsite.pages`` holds one tree of each treebeard shape: pages (materialised path, with
blog posts as multi-table inheritance children), categories (nested sets, two trees) and
folders (adjacency list). Treebeard's own API works on the database Django's routers
pick, so the tests point a router at the database they build or check (``treebeard_on``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Model
from django.test import override_settings
from treebeard.ns_tree import NS_NodeManager

from devdata_core import plugins
from devdata_queryset import ExactQuerySetStrategy
from testsite.pages.models import BlogPage, Category, Folder, Page
from testsite.polls.models import Question

pytestmark = pytest.mark.usefixtures("intact")

#: Each tree as ``(name, children)``; pages named ``post ...`` are blog posts.
PAGES = (
    "Root",
    [
        (
            "Home",
            [
                ("About", [("Team", [])]),
                ("Blog", [(f"post {n}", []) for n in range(1, 5)]),
            ],
        ),
        ("Elsewhere", [("Contact", [])]),
    ],
)
CATEGORIES = [
    (
        "Books",
        [
            ("Fiction", [("Science fiction", []), ("Crime", [])]),
            ("Non-fiction", [("History", []), ("Science", [])]),
        ],
    ),
    ("Music", [("Jazz", []), ("Rock", [])]),
]
FOLDERS = ("Files", [("Documents", [("Taxes", [("2024", [])])]), ("Pictures", [])])

#: Columns that say where a node is in its tree, and what it holds.
COLUMNS = {
    Page: ("pk", "path", "depth", "numchild", "title"),
    BlogPage: ("pk", "body"),
    Category: ("pk", "tree_id", "lft", "rgt", "depth", "name"),
    Folder: ("pk", "parent_id", "sib_order", "name"),
}


# Treebeard on a chosen database --------------------------------------------------


class _Route:
    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return self.alias

    db_for_write = db_for_read


@contextmanager
def treebeard_on(alias: str) -> Iterator[None]:
    """Treebeard's API (``add_root``, ``find_problems``...) reads and writes ``alias``.

    Its own transactions are on the default database: one on ``alias`` holds its locks.
    """
    with override_settings(DATABASE_ROUTERS=[_Route(alias)]), transaction.atomic(using=alias):
        yield


# Treebeard 5 moved the tree API from the model to its manager; 4.x (Django 4.2) has
# it on the model only.
_ON_MANAGER = hasattr(NS_NodeManager, "find_problems")


def add_root(node: Model) -> Model:
    model = type(node)
    return model.objects.add_root(instance=node) if _ON_MANAGER else model.add_root(instance=node)


def add_child(parent: Model, node: Model) -> Model:
    if _ON_MANAGER:
        return type(node).objects.add_child(parent, instance=node)
    return parent.add_child(instance=node)


def problems(model: type[Model], alias: str) -> list[Any]:
    """Every node treebeard's ``find_problems()`` finds wrong in the tree on ``alias``.

    Treebeard 4.x has no ``find_problems()`` for nested sets: there the bounds are
    checked by the tests themselves (``bounds``).
    """
    with treebeard_on(alias):
        if _ON_MANAGER:
            found = model.objects.find_problems()
        elif model is Category:
            return []
        else:
            found = model.find_problems()
    return [key for kind in found for key in kind]


# Building production ---------------------------------------------------------------


def build(make: Any, tree: tuple[str, list], parent: Model | None = None) -> dict:
    """Create ``tree`` with treebeard's API; return its nodes by name."""
    name, children = tree
    if parent is None:
        node = add_root(make(name))
    else:
        # Treebeard 4.x places a child by its parent's bounds as the instance holds them.
        parent.refresh_from_db()
        node = add_child(parent, make(name))
    nodes = {name: node}
    for child in children:
        nodes.update(build(make, child, node))
    return nodes


def make_page(name: str) -> Page:
    return (
        BlogPage(title=name, body=f"All about {name}")
        if name.startswith("post")
        else Page(title=name)
    )


def make_trees(site) -> dict[str, Model]:
    """Pages, categories and folders in production; every node by name."""
    with treebeard_on(site.src):
        nodes = build(make_page, PAGES)
        for tree in CATEGORIES:
            nodes.update(build(lambda name: Category(name=name), tree))
        nodes.update(build(lambda name: Folder(name=name), FOLDERS))
    return nodes


def rows(model: type[Model], alias: str) -> list[tuple]:
    return list(model._base_manager.using(alias).order_by("pk").values_list(*COLUMNS[model]))


def keys(nodes: dict[str, Model], *names: str) -> set[Any]:
    return {nodes[name].pk for name in names}


def pages(site) -> dict[str, tuple[int, int]]:
    """Each page in dev by title: its depth and child count."""
    found = Page._base_manager.using(site.dev).values_list("title", "depth", "numchild")
    return {title: (depth, numchild) for title, depth, numchild in found}


def bounds(site) -> dict[str, tuple[int, int, int, int]]:
    """Each category in dev by name: tree, left and right bounds, depth."""
    found = Category._base_manager.using(site.dev).values_list(
        "name", "tree_id", "lft", "rgt", "depth"
    )
    return {name: (tree_id, lft, rgt, depth) for name, tree_id, lft, rgt, depth in found}


# What the plugin declares -------------------------------------------------------------


def references(model: type[Model]) -> list:
    return [
        ref for answer in plugins.call_hook("devdata_references", model=model) for ref in answer
    ]


def test_tree_models_declare_their_ancestors_as_pulled_references():
    (by_path,) = references(Page)
    assert (by_path.model, by_path.target, by_path.target_field, by_path.columns, by_path.rule) == (
        Page,
        Page,
        "path",
        ("path",),
        "pull",
    )
    (by_bounds,) = references(Category)
    assert (by_bounds.target, by_bounds.target_field, by_bounds.columns, by_bounds.rule) == (
        Category,
        "id",
        ("tree_id", "lft", "rgt"),
        "pull",
    )
    # Blog posts keep their tree in Page's table; folders' parents are foreign keys.
    assert references(BlogPage) == references(Folder) == references(Question) == []


def ancestors_by_name(tree: tuple[str, list], above: tuple[str, ...] = ()) -> dict[str, tuple]:
    name, children = tree
    found = {name: above}
    for child in children:
        found.update(ancestors_by_name(child, (*above, name)))
    return found


def test_each_node_resolves_to_exactly_its_ancestors(site):
    make_trees(site)
    (by_path,) = references(Page)
    title_of = dict(Page._base_manager.using(site.src).values_list("path", "title"))
    paths = [(path,) for path in title_of]
    resolved = by_path.resolve(site.src, paths)
    assert {
        title_of[path]: {title_of[a] for a in found}
        for (path,), found in zip(paths, resolved, strict=True)
    } == {name: set(above) for name, above in ancestors_by_name(PAGES).items()}

    (by_bounds,) = references(Category)
    # One batch across both trees, in no particular order.
    batch = list(
        Category._base_manager.using(site.src)
        .order_by("-name")
        .values_list("tree_id", "lft", "rgt", "name")
    )
    resolved = by_bounds.resolve(site.src, [row[:3] for row in batch])
    name_of = dict(Category._base_manager.using(site.src).values_list("pk", "name"))
    expected = {}
    for tree in CATEGORIES:
        expected.update(ancestors_by_name(tree))
    assert {
        row[3]: {name_of[key] for key in found} for row, found in zip(batch, resolved, strict=True)
    } == {name: set(above) for name, above in expected.items()}
    assert list(by_bounds.resolve(site.src, [])) == []


def random_tree(rng: random.Random, name: str, depth: int) -> tuple[str, list]:
    width = rng.randint(0, 3) if depth < 5 else 0
    return (name, [random_tree(rng, f"{name}.{n}", depth + 1) for n in range(width)])


def test_ancestors_resolve_in_batches_of_any_order(site):
    """Deep, uneven trees, read in shuffled batches that mix trees, as an export reads rows."""
    rng = random.Random(10)
    trees = [random_tree(rng, str(n), 1) for n in range(3)]
    expected = {}
    with treebeard_on(site.src):
        for tree in trees:
            build(lambda name: Page(title=name), tree)
            build(lambda name: Category(name=name), tree)
            expected.update(ancestors_by_name(tree))
    assert len(expected) > 40

    for model, columns, label in [
        (Page, ("path",), "title"),
        (Category, ("tree_id", "lft", "rgt"), "name"),
    ]:
        (reference,) = references(model)
        target = reference.target_field
        name_of = dict(model._base_manager.using(site.src).values_list(target, label))
        found = list(model._base_manager.using(site.src).values_list(*columns, label))
        rng.shuffle(found)
        resolved = {}
        for start in range(0, len(found), 7):
            batch = found[start : start + 7]
            answers = reference.resolve(site.src, [row[:-1] for row in batch])
            for row, keys_found in zip(batch, answers, strict=True):
                resolved[row[-1]] = {name_of[key] for key in keys_found}
        assert resolved == {name: set(above) for name, above in expected.items()}, model


# Full copies -----------------------------------------------------------------------------


def test_a_full_copy_keeps_every_tree_as_it_is(site):
    make_trees(site)
    site.roundtrip()
    for model in (Page, BlogPage, Category, Folder):
        assert rows(model, site.dev) == rows(model, site.src)
    assert problems(Page, site.dev) == problems(Category, site.dev) == []


def test_a_tree_production_got_wrong_arrives_sound_with_a_warning_for_orphans(site):
    nodes = make_trees(site)
    manager = Page._base_manager.using(site.src)
    # Counts and depths gone stale, as treebeard's docs warn when code breaks mid-change.
    manager.filter(title="Blog").update(numchild=9)
    manager.filter(title="Team").update(depth=2)
    # A page moved under a parent that does not exist, leaving Elsewhere's count stale.
    manager.filter(title="Contact").update(path="Z" * Page.steplen + "0001")
    assert set(problems(Page, site.src)) == keys(nodes, "Blog", "Team", "Contact", "Elsewhere")

    site.export()
    output = site.import_(verbosity=2)

    # Depths follow the paths, child counts the rows; Contact's parent cannot be made up.
    assert pages(site) == {
        "Root": (1, 2),
        "Home": (2, 2),
        "About": (3, 1),
        "Team": (4, 0),
        "Blog": (3, 4),
        **{f"post {n}": (4, 0) for n in range(1, 5)},
        "Elsewhere": (2, 0),
        "Contact": (2, 0),
    }
    assert problems(Page, site.dev) == [nodes["Contact"].pk]
    assert f"Warning: pages.Page: 1 tree nodes have no parent in {site.dev!r}" in output.stderr
    assert "pages.Page: tree columns of 4 nodes set from the rows loaded" in output.stdout


def test_nested_sets_missing_a_node_in_production_arrive_without_gaps_and_a_warning(site):
    nodes = make_trees(site)
    # Deleted by hand, without treebeard: its children keep their depth, and a gap stays.
    Category._base_manager.using(site.src).filter(name="Fiction").delete()

    site.export()
    output = site.import_()

    books, music = nodes["Books"].tree_id, nodes["Music"].tree_id
    assert bounds(site) == {
        "Books": (books, 1, 12, 1),
        "Science fiction": (books, 2, 3, 3),
        "Crime": (books, 4, 5, 3),
        "Non-fiction": (books, 6, 11, 2),
        "History": (books, 7, 8, 3),
        "Science": (books, 9, 10, 3),
        "Music": (music, 1, 6, 1),
        "Jazz": (music, 2, 3, 2),
        "Rock": (music, 4, 5, 2),
    }
    # Treebeard 4.x cannot check nested sets (see ``problems``).
    astray = keys(nodes, "Science fiction", "Crime") if _ON_MANAGER else set()
    assert set(problems(Category, site.dev)) == astray
    assert f"Warning: pages.Category: 2 tree nodes have no parent in {site.dev!r}" in output.stderr


# Subsets ------------------------------------------------------------------------------------


def test_whole_branches_load_with_child_counts_and_bounds_of_what_came(site):
    """Rows chosen with their ancestors: no pulls needed, the import alone makes it sound."""
    nodes = make_trees(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "pages.Page": [
                ExactQuerySetStrategy(
                    name="branch", pks=keys(nodes, "Root", "Home", "Blog", "post 2", "post 4")
                )
            ],
            "pages.Category": [
                ExactQuerySetStrategy(
                    name="branch",
                    pks=keys(nodes, "Books", "Fiction", "Crime", "Non-fiction", "Science"),
                )
            ],
        }
    )
    site.roundtrip()

    assert pages(site) == {
        "Root": (1, 1),
        "Home": (2, 1),
        "Blog": (3, 2),
        "post 2": (4, 0),
        "post 4": (4, 0),
    }
    assert site.pks(BlogPage) == keys(nodes, "post 2", "post 4")
    tree_id = nodes["Books"].tree_id
    assert bounds(site) == {
        "Books": (tree_id, 1, 10, 1),
        "Fiction": (tree_id, 2, 5, 2),
        "Crime": (tree_id, 3, 4, 3),
        "Non-fiction": (tree_id, 6, 9, 2),
        "Science": (tree_id, 7, 8, 3),
    }
    assert problems(Page, site.dev) == problems(Category, site.dev) == []

    # Editors keep working on the trees in dev.
    with treebeard_on(site.dev):
        blog = Page.objects.get(title="Blog")
        add_child(blog, BlogPage(title="post 5", body="New in dev"))
        add_child(Category.objects.get(name="Science"), Category(name="Physics"))
    assert pages(site)["Blog"] == (3, 3)
    assert bounds(site)["Books"] == (tree_id, 1, 12, 1)
    assert bounds(site)["Physics"] == (tree_id, 8, 9, 4)
    assert problems(Page, site.dev) == problems(Category, site.dev) == []


def test_deep_pages_come_with_every_page_above_them(site):
    nodes = make_trees(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "pages.Page": [ExactQuerySetStrategy(name="deep", pks=keys(nodes, "Team", "post 3"))]
        }
    )
    site.roundtrip()

    assert pages(site) == {
        "Root": (1, 1),
        "Home": (2, 2),
        "About": (3, 1),
        "Team": (4, 0),
        "Blog": (3, 1),
        "post 3": (4, 0),
    }
    assert site.pks(BlogPage) == keys(nodes, "post 3")
    assert problems(Page, site.dev) == []


def test_a_sample_of_blog_posts_brings_the_pages_above_them(site):
    """Pages are sampled too (else all of them come, each with its blog post): the top of
    the site, and whatever the posts need."""
    nodes = make_trees(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "pages.Page": [ExactQuerySetStrategy(name="top", pks=keys(nodes, "Root", "Home"))],
            "pages.BlogPage": [
                ExactQuerySetStrategy(name="some", pks=keys(nodes, "post 1", "post 3"))
            ],
        }
    )
    site.roundtrip()

    assert site.pks(BlogPage) == keys(nodes, "post 1", "post 3")
    assert pages(site) == {
        "Root": (1, 1),
        "Home": (2, 1),
        "Blog": (3, 2),
        "post 1": (4, 0),
        "post 3": (4, 0),
    }
    assert rows(BlogPage, site.dev) == [
        row for row in rows(BlogPage, site.src) if row[0] in keys(nodes, "post 1", "post 3")
    ]
    assert problems(Page, site.dev) == []


def test_categories_come_with_their_ancestors_and_bounds_without_gaps(site):
    nodes = make_trees(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "pages.Category": [
                ExactQuerySetStrategy(name="some", pks=keys(nodes, "Crime", "Science", "Jazz"))
            ]
        }
    )
    site.roundtrip()

    books, music = nodes["Books"].tree_id, nodes["Music"].tree_id
    assert bounds(site) == {
        "Books": (books, 1, 10, 1),
        "Fiction": (books, 2, 5, 2),
        "Crime": (books, 3, 4, 3),
        "Non-fiction": (books, 6, 9, 2),
        "Science": (books, 7, 8, 3),
        "Music": (music, 1, 4, 1),
        "Jazz": (music, 2, 3, 2),
    }
    assert problems(Category, site.dev) == []


def test_folders_come_with_their_parents_through_the_foreign_key(site):
    """Adjacency lists need nothing of the plugin: the parent is a foreign key to pull."""
    nodes = make_trees(site)
    site.configure(
        DEVDATA_STRATEGIES={
            "pages.Folder": [
                ExactQuerySetStrategy(
                    name="some", pks=keys(nodes, "2024"), pull_parents=True, pull_nullable=True
                )
            ]
        }
    )
    site.roundtrip()

    assert site.pks(Folder) == keys(nodes, "Files", "Documents", "Taxes", "2024")
