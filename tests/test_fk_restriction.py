"""References stay intact: a row comes only with the rows it references."""

from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import User
from django.db import connections

from devdata_core import databases
from devdata_queryset import (
    ExactQuerySetStrategy,
    LatestSampleQuerySetStrategy,
    ModelReverseRelationshipQuerySetStrategy,
    QuerySetStrategy,
    RandomSampleQuerySetStrategy,
    get_exported_pks_for_model,
)
from testsite.library.models import Author, Book, Edition, Tag
from testsite.photofeed.models import Photo
from testsite.polls.models import Choice, Question

pytestmark = pytest.mark.usefixtures("intact")

NOON = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def make_user(site, pk, **fields):
    return User.objects.using(site.src).create(pk=pk, username=f"user{pk}", **fields)


def make_photo(site, pk, user_id, taken_at=NOON):
    return Photo.objects.using(site.src).create(pk=pk, user_id=user_id, taken_at=taken_at)


class InternalUsersStrategy(QuerySetStrategy):
    def get_queryset(self, django_dbname, dest, model):
        return super().get_queryset(django_dbname, dest, model).filter(is_superuser=True)


def test_rows_of_users_not_exported_stay_behind(site):
    make_user(site, 101, is_superuser=True)
    make_user(site, 102)
    make_user(site, 103)
    for pk, user in [(201, 101), (202, 101), (203, 102), (204, 102), (205, 103), (206, 103)]:
        make_photo(site, pk, user)
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [
                InternalUsersStrategy(name="internal"),
                ExactQuerySetStrategy(name="test_users", pks=[102]),
            ],
        }
    )

    site.roundtrip()

    assert {name: {r["pk"] for r in rows} for name, rows in site.exported("auth.User").items()} == {
        "internal": {101},
        "test_users": {102},
    }
    assert site.exported_pks("photofeed.Photo") == {201, 202, 203, 204}
    assert site.pks(User) == {101, 102}
    assert site.pks(Photo) == {201, 202, 203, 204}
    dev_photos = Photo.objects.using(site.dev)
    assert set(dev_photos.filter(user=101).values_list("pk", flat=True)) == {201, 202}


def test_a_row_referencing_one_model_twice_needs_both_rows(site):
    kept, skipped = (
        Author.objects.using(site.src).create(pk=pk, name=n) for pk, n in [(1, "K"), (2, "S")]
    )
    books = {
        pk: Book.objects.using(site.src).create(pk=pk, title=f"b{pk}", author=author)
        for pk, author in [(11, kept), (12, skipped), (13, kept)]
    }
    for pk, book, translated_from in [
        (21, 11, None),  # kept: the null reference needs nothing
        (22, 11, 12),  # dropped: translated from a book of an author not exported
        (23, 12, None),  # dropped: its book was not exported
        (24, 13, 11),  # kept: both books exported
    ]:
        Edition.objects.using(site.src).create(
            pk=pk, book=books[book], translated_from_id=translated_from, isbn=f"isbn-{pk}"
        )
    site.configure(
        DEVDATA_STRATEGIES={"library.Author": [ExactQuerySetStrategy(name="one", pks=[1])]}
    )

    site.roundtrip()

    assert site.exported_pks("library.Book") == {11, 13}
    assert site.exported_pks("library.Edition") == {21, 24}
    assert site.pks(Edition) == {21, 24}
    assert Edition.objects.using(site.dev).get(pk=21).translated_from_id is None
    assert Edition.objects.using(site.dev).get(pk=24).translated_from_id == 11


def test_a_latest_sample_looks_past_rows_it_cannot_export(site):
    """The newest photos belong to a user who is not exported: the sample skips them."""
    for pk in (1, 2, 3):
        make_user(site, pk)
    for pk in range(1, 21):
        # Photos 1..10 by users 1 and 2; the newer photos 11..20 by user 3.
        make_photo(site, pk, 3 if pk > 10 else 1 + pk % 2, taken_at=NOON + timedelta(hours=pk))
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [ExactQuerySetStrategy(name="two", pks=[1, 2])],
            "photofeed.Photo": [
                LatestSampleQuerySetStrategy(name="latest", count=3, order_by="-taken_at")
            ],
        }
    )

    site.roundtrip()

    assert [row["pk"] for row in site.exported("photofeed.Photo")["latest"]] == [10, 9, 8]
    assert site.pks(Photo) == {8, 9, 10}


def test_a_random_sample_has_its_count_of_exportable_rows(site):
    for pk in (1, 2):
        make_user(site, pk)
    for pk in range(1, 41):
        make_photo(site, pk, 1 if pk <= 5 else 2)
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [ExactQuerySetStrategy(name="one", pks=[1])],
            "photofeed.Photo": [RandomSampleQuerySetStrategy(name="random", count=4)],
        }
    )

    site.roundtrip()

    pks = site.exported_pks("photofeed.Photo")
    assert len(pks) == 4
    assert pks <= {1, 2, 3, 4, 5}
    assert site.pks(Photo) == pks


class ChoicesOfExportedQuestions(ModelReverseRelationshipQuerySetStrategy):
    """Questions chosen by their choices: the choices are exported first."""

    depends_on = ("polls.Choice",)

    def get_reverse_filter(self, dest, model):
        return {"choice__in": get_exported_pks_for_model(dest, Choice)}


def test_depends_on_exports_the_referencing_model_first(site):
    questions = [
        Question.objects.using(site.src).create(pk=pk, question_text=f"q{pk}", pub_date=NOON)
        for pk in (1, 2, 3)
    ]
    for pk, question, votes in [(11, 0, 50), (12, 0, 1), (13, 1, 2), (14, 2, 40), (15, 2, 3)]:
        Choice.objects.using(site.src).create(
            pk=pk, question=questions[question], choice_text=f"c{pk}", votes=votes
        )
    site.configure(
        DEVDATA_STRATEGIES={
            "polls.Choice": [
                LatestSampleQuerySetStrategy(name="most_voted", count=2, order_by="-votes")
            ],
            "polls.Question": [ChoicesOfExportedQuestions(name="of_choices")],
        }
    )

    site.roundtrip()

    assert site.exported_pks("polls.Choice") == {11, 14}
    assert site.exported_pks("polls.Question") == {1, 3}
    assert site.pks(Question) == {1, 3}
    assert site.pks(Choice) == {11, 14}


class TagsOfExportedBooks(ModelReverseRelationshipQuerySetStrategy):
    depends_on = ("library.Book",)

    def get_reverse_filter(self, dest, model):
        return {"book__in": get_exported_pks_for_model(dest, Book)}


def test_reverse_relationship_strategy_reads_the_exported_keys(site):
    authors = [Author.objects.using(site.src).create(pk=pk, name=f"a{pk}") for pk in (1, 2)]
    tags = {name: Tag.objects.using(site.src).create(name=name) for name in "xyz"}
    for pk, author, tag_names in [(11, 0, "x"), (12, 1, "yz"), (13, 0, "")]:
        book = Book.objects.using(site.src).create(pk=pk, title=f"b{pk}", author=authors[author])
        book.tags.set([tags[n] for n in tag_names])
    site.configure(
        DEVDATA_STRATEGIES={
            "library.Author": [ExactQuerySetStrategy(name="first", pks=[1])],
            "library.Tag": [TagsOfExportedBooks(name="used")],
        }
    )

    site.roundtrip()

    assert set(Tag.objects.using(site.dev).values_list("name", flat=True)) == {"x"}
    assert set(Book.objects.using(site.dev).get(pk=11).tags.values_list("name", flat=True)) == {"x"}


def test_many_to_many_pairs_come_only_with_both_ends(site):
    for pk in (1, 2, 3):
        make_user(site, pk)
    first, second = make_photo(site, 11, 1), make_photo(site, 12, 2)
    first.liked_by.set([1, 2, 3])
    second.liked_by.set([1, 3])
    authors = [Author.objects.using(site.src).create(pk=pk, name=f"a{pk}") for pk in (1, 2)]
    tags = [Tag.objects.using(site.src).create(pk=pk, name=f"t{pk}") for pk in (1, 2)]
    Book.objects.using(site.src).create(pk=21, title="kept", author=authors[0]).tags.set(tags)
    Book.objects.using(site.src).create(pk=22, title="not", author=authors[1]).tags.set(tags)
    site.configure(
        DEVDATA_STRATEGIES={
            "auth.User": [ExactQuerySetStrategy(name="some", pks=[1, 3])],
            "library.Author": [ExactQuerySetStrategy(name="first", pks=[1])],
        }
    )

    site.roundtrip()

    through = Photo.liked_by.through
    assert set(through.objects.using(site.dev).values_list("photo", "user")) == {(11, 1), (11, 3)}
    assert set(Photo.objects.using(site.dev).get(pk=11).liked_by.values_list("pk", flat=True)) == {
        1,
        3,
    }
    assert set(Book.tags.through.objects.using(site.dev).values_list("book", "tag")) == {
        (21, 1),
        (21, 2),
    }
    assert len(site.exported("photofeed.Photo_liked_by")["all"]) == 2


@pytest.mark.databases_only("mariadb")
def test_a_key_set_larger_than_one_query_takes_selects_the_same_rows(site, monkeypatch):
    """MySQL gets at most ``MYSQL_KEYS_PER_QUERY`` keys a query: larger key sets are
    sent in batches, one query (or more) each, and select what one query would."""
    for pk in range(1, 8):
        make_user(site, pk)
    for pk in range(1, 50):
        make_photo(site, pk, 1 + pk % 7)
    site.configure(
        DEVDATA_STRATEGIES={"auth.User": [ExactQuerySetStrategy(name="most", pks=range(1, 7))]}
    )
    site.export()
    in_one_query = site.exported_pks("photofeed.Photo")
    monkeypatch.setattr(databases, "MYSQL_KEYS_PER_QUERY", 2)

    site.roundtrip()

    expected = set(Photo.objects.using(site.src).filter(user__lte=6).values_list("pk", flat=True))
    assert in_one_query == site.exported_pks("photofeed.Photo") == expected
    assert len(expected) == 42
    assert site.pks(Photo) == expected


@pytest.mark.databases_only("sqlite", "postgres")
def test_the_database_restricts_rows_by_the_keys_of_the_rows_exported(site):
    """The query that reads the photos returns only those of exported users: Python
    drops none of what the database sent, however many keys the users have.

    (MySQL's rows stream through the driver's cursor, which Django does not see.)
    """
    for pk in range(1, 5):
        make_user(site, pk)
    for pk in range(1, 41):
        make_photo(site, pk, 1 + pk % 4)
    site.configure(
        DEVDATA_STRATEGIES={"auth.User": [ExactQuerySetStrategy(name="half", pks=[1, 2])]}
    )
    sent = []
    photos = f'FROM "{Photo._meta.db_table}" '

    def remember(execute, sql, params, many, context):
        if photos in f"{sql} " and sql.lstrip().startswith("SELECT"):
            sent.append((sql, params))
        return execute(sql, params, many, context)

    with connections[site.src].execute_wrapper(remember):
        site.export()

    exported = site.exported_pks("photofeed.Photo")
    assert len(exported) == 20
    reads = [(sql, params) for sql, params in sent if "COUNT(" not in sql.upper()]
    assert len(reads) == 1
    with connections[site.src].cursor() as cursor:
        cursor.execute(*reads[0])
        assert {row[0] for row in cursor.fetchall()} == exported
