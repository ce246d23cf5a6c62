"""Cycles of references: self-references and models that reference each other."""

import pytest

from devdata_core.graph import build_graph
from devdata_queryset import ExactQuerySetStrategy, LatestSampleQuerySetStrategy
from testsite.library.models import Author, Book, Edition, Tag
from testsite.polls.models import Choice, Question
from testsite.turtles.models import Turtle, World

pytestmark = pytest.mark.usefixtures("intact")

BookTags = Book.tags.through


def make_turtles(site, standing_on):
    """Turtles by pk, created in order so that each stands on one made before."""
    for pk, below in standing_on.items():
        Turtle.objects.using(site.src).create(pk=pk, standing_on_id=below)


def test_turtles_all_the_way_down(site):
    make_turtles(site, {1: None, 2: 1, 3: 2, 4: 2})
    World.objects.using(site.src).create(pk=9, riding_on_id=3)
    World.objects.using(site.src).create(pk=13, riding_on_id=4)

    site.roundtrip()

    assert site.exported_pks("turtles.Turtle") == {1, 2, 3, 4}
    assert site.exported_pks("turtles.World") == {9, 13}
    assert site.pks(Turtle) == {1, 2, 3, 4}
    assert site.pks(World) == {9, 13}
    standing = Turtle.objects.using(site.dev).values_list("pk", "standing_on")
    assert dict(standing) == {1: None, 2: 1, 3: 2, 4: 2}


def test_a_sample_drops_turtles_standing_on_turtles_left_behind(site):
    # The five newest turtles are sampled; 6 stands on 1, which is not, and 7 on 6.
    make_turtles(site, {1: None, 2: 1, 3: None, 4: 3, 5: 4, 6: 1, 7: 6})
    World.objects.using(site.src).create(pk=21, riding_on_id=5)
    World.objects.using(site.src).create(pk=22, riding_on_id=7)
    World.objects.using(site.src).create(pk=23, riding_on_id=2)
    site.configure(
        DEVDATA_STRATEGIES={"turtles.Turtle": [LatestSampleQuerySetStrategy(name="top", count=5)]}
    )

    output = site.export(verbosity=2)
    site.import_()

    assert site.exported_pks("turtles.Turtle") == {3, 4, 5}
    assert site.exported_pks("turtles.World") == {21}
    assert site.pks(Turtle) == {3, 4, 5}
    assert site.pks(World) == {21}
    assert "turtles.Turtle: dropped 2 rows whose references were not exported" in output.stdout
    assert "turtles.World: dropped 1 rows whose references were not exported" in output.stdout


@pytest.mark.parametrize("missing", ["on_delete", "drop"])
def test_authors_and_books_reference_each_other(site, missing):
    authors = {
        pk: Author.objects.using(site.src).create(pk=pk, name=f"a{pk}") for pk in (1, 2, 3, 4)
    }
    for pk in (1, 2, 3, 4):
        Book.objects.using(site.src).create(pk=10 + pk, title=f"b{pk}", author=authors[pk])
    Book.objects.using(site.src).create(pk=15, title="b5", author=authors[1])
    tag = Tag.objects.using(site.src).create(pk=1, name="t")
    for pk in (11, 12, 13, 14, 15):
        Book.objects.using(site.src).get(pk=pk).tags.add(tag)
        Edition.objects.using(site.src).create(pk=pk + 10, book_id=pk, isbn=f"isbn-{pk}")
    for author, book in [(1, 15), (2, 13), (3, None), (4, 11)]:
        Author.objects.using(site.src).filter(pk=author).update(favourite_book=book)
    site.configure(
        DEVDATA_MISSING_REFERENCES=missing,
        DEVDATA_STRATEGIES={
            # The three newest authors: 4's favourite book is by author 1, who is not
            # exported. The key says SET_NULL, so 4 comes without a favourite; as 1.x did
            # ("drop"), 4 is dropped, and with 4 its book, edition and tags.
            "library.Author": [LatestSampleQuerySetStrategy(name="newest", count=3)]
        },
    )

    site.roundtrip()

    if missing == "drop":
        authors, favourites = {2, 3}, {2: 13, 3: None}
    else:
        authors, favourites = {2, 3, 4}, {2: 13, 3: None, 4: None}
    books = {pk + 10 for pk in authors}
    assert site.exported_pks("library.Author") == authors
    assert site.exported_pks("library.Book") == books
    assert site.exported_pks("library.Edition") == {pk + 10 for pk in books}
    assert {row["fields"]["book"] for row in site.exported("library.Book_tags")["all"]} == books
    assert dict(Author.objects.using(site.dev).values_list("pk", "favourite_book")) == favourites
    assert site.pks(Book) == books
    assert site.pks(Edition) == {pk + 10 for pk in books}
    assert set(BookTags.objects.using(site.dev).values_list("book", flat=True)) == books


def test_an_author_whose_favourite_book_is_exported_later_is_kept(site):
    author = Author.objects.using(site.src).create(pk=1, name="a")
    Book.objects.using(site.src).create(pk=11, title="b", author=author)
    Author.objects.using(site.src).filter(pk=1).update(favourite_book=11)
    site.configure(
        DEVDATA_STRATEGIES={"library.Author": [ExactQuerySetStrategy(name="one", pks=[1])]}
    )

    site.roundtrip()

    assert Author.objects.using(site.dev).get(pk=1).favourite_book_id == 11


LIBRARY = [Author, Book, BookTags, Edition, Tag]


def deferred_names(graph):
    return {str(ref) for ref in graph.deferred}


def test_the_graph_orders_models_after_what_they_reference():
    graph = build_graph([Turtle, World, *LIBRARY], {})

    assert graph.order == [
        Author,
        Book,
        Edition,
        Tag,
        BookTags,
        Turtle,
        World,
    ]
    assert deferred_names(graph) == {"turtles.Turtle.standing_on", "library.Author.favourite_book"}


def test_the_graph_puts_a_depends_on_model_first_and_defers_what_references_against_it():
    graph = build_graph(
        [Question, Choice, *LIBRARY],
        {Question: ["polls.Choice"], Book: ["library.Edition"]},
    )

    assert graph.order.index(Choice) < graph.order.index(Question)
    assert graph.order.index(Edition) < graph.order.index(Book)
    assert graph.order.index(Author) < graph.order.index(Book)
    # Book.author still goes the right way, so it is checked as rows are written.
    assert deferred_names(graph) == {
        "polls.Choice.question",
        "library.Author.favourite_book",
        "library.Edition.book",
        "library.Edition.translated_from",
    }


def test_the_graph_drops_depends_on_hints_that_contradict_each_other():
    graph = build_graph(
        [Question, Choice], {Question: ["polls.Choice"], Choice: ["polls.Question"]}
    )

    assert graph.order == [Question, Choice]
    assert graph.deferred == set()
