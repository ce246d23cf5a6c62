"""Rows whose references point at rows a sample left out follow the app's own rules.

The newsroom (tests/testsite/newsroom) samples authors, categories and images; a post
whose image was left out keeps its place without it (SET_NULL), one whose category was
left out falls back to the default category (SET_DEFAULT), and one whose author or editor
was left out goes (CASCADE, PROTECT). The history of posts is not enforced by the database
(``db_constraint=False``) and comes as it is, rows of deleted posts included.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from devdata_core.errors import ConfigError
from devdata_queryset import ExactQuerySetStrategy
from testsite.newsroom.models import (
    Author,
    Category,
    Correction,
    History,
    Image,
    Post,
    Reading,
    Tag,
)
from testsite.shop.models import Product, TaggedItem
from testsite.shop.models import Tag as ShopTag

pytestmark = pytest.mark.usefixtures("intact")

PostTags = Post.tags.through
UserGroups = User.groups.through

NEWSROOM = [Author, Category, Image, Tag, Post, PostTags, Reading, History, Correction]


def seed_newsroom(site):
    """Users 1..5, two groups, two authors, and four posts.

    ====  ======  =====  ========  ======  ====
    post  author  image  category  editor  tags
    ====  ======  =====  ========  ======  ====
    1     1       1      2         3       1
    2     1       3      1         (none)  2
    3     2       2      2         3
    4     1       (none) 2         5
    ====  ======  =====  ========  ======  ====

    Image 1 was uploaded by user 4, image 2 by user 1, image 3 by nobody. History 102
    is of post 99, deleted since.
    """
    db = site.src
    users = {
        pk: User.objects.db_manager(db).create_user(pk=pk, username=f"user{pk}")
        for pk in (1, 2, 3, 4, 5)
    }
    editors = Group.objects.using(db).create(pk=1, name="editors")
    writers = Group.objects.using(db).create(pk=2, name="writers")
    users[1].groups.add(writers)
    users[2].groups.add(writers)
    users[3].groups.add(editors)
    for pk in (1, 2):
        Author.objects.using(db).create(pk=pk, user=users[pk], name=f"author{pk}")
    Category.objects.using(db).create(pk=1, name="General")
    Category.objects.using(db).create(pk=2, name="Politics")
    for pk, uploader in [(1, 4), (2, 1), (3, None)]:
        Image.objects.using(db).create(pk=pk, title=f"image{pk}", uploaded_by_id=uploader)
    tags = {pk: Tag.objects.using(db).create(pk=pk, name=f"tag{pk}") for pk in (1, 2)}
    for pk, author, image, category, editor, tag in [
        (1, 1, 1, 2, 3, 1),
        (2, 1, 3, 1, None, 2),
        (3, 2, 2, 2, 3, None),
        (4, 1, None, 2, 5, None),
    ]:
        post = Post.objects.using(db).create(
            pk=pk,
            title=f"post{pk}",
            author_id=author,
            image_id=image,
            category_id=category,
            editor_id=editor,
        )
        if tag:
            post.tags.add(tags[tag])
    for pk, post, user in [(301, 1, 5), (302, 3, 2), (303, 2, 3)]:
        Reading.objects.using(db).create(pk=pk, post_id=post, user_id=user)
    for pk, post, action in [(101, 1, "created"), (102, 99, "deleted"), (103, 3, "edited")]:
        History.objects.using(db).create(pk=pk, post_id=post, action=action)
    Correction.objects.using(db).create(pk=201, post_id=3, text="typo")
    Correction.objects.using(db).create(pk=202, post_id=2, text="fix")


def rows(site, model, *fields, where="dev"):
    """The rows of ``model`` as {pk: (field values)}."""
    alias = site.dev if where == "dev" else site.src
    return {
        pk: tuple(values)
        for pk, *values in model._base_manager.using(alias).values_list("pk", *fields)
    }


def table(site, model, where="dev"):
    """Every column of every row of ``model``."""
    fields = [f.attname for f in model._meta.concrete_fields]
    return rows(site, model, *fields, where=where)


def sampled(**options):
    """Authors, categories and images sampled; users 1 and 3 (author 1 and the editor)."""
    return {
        "newsroom.Author": [ExactQuerySetStrategy(name="one", pks=[1])],
        "newsroom.Category": [ExactQuerySetStrategy(name="default", pks=[1])],
        "newsroom.Image": [ExactQuerySetStrategy(name="some", pks=[1, 2], **options)],
        "auth.User": [ExactQuerySetStrategy(name="staff", pks=[1, 3])],
    }


def test_with_nothing_configured_the_copy_is_the_source(site):
    """Every row, history of deleted posts included: its key is not enforced."""
    seed_newsroom(site)

    site.roundtrip()

    for model in [*NEWSROOM, User, Group, UserGroups]:
        assert table(site, model) == table(site, model, "src"), model
    assert rows(site, History, "post_id")[102] == (99,)


def test_configured_full_tables_leave_what_they_reference_whole(site):
    """Models configured to take every row are no sample: the tags, users and groups
    they reference are taken whole, not just the rows they reference."""
    seed_newsroom(site)
    Tag.objects.using(site.src).create(pk=3, name="unused")
    User.objects.db_manager(site.src).create_user(pk=6, username="nobody")
    site.configure(
        DEVDATA_STRATEGIES={
            "newsroom.Post": [("QuerySetStrategy", {"name": "posts"})],
            "newsroom.Post_tags": [("QuerySetStrategy", {"name": "tags"})],
        }
    )

    site.roundtrip()

    assert site.pks(Tag) == {1, 2, 3}
    assert site.pks(User) == {1, 2, 3, 4, 5, 6}
    for model in [*NEWSROOM, User, Group, UserGroups]:
        assert table(site, model) == table(site, model, "src"), model


def test_a_subset_follows_each_foreign_keys_on_delete(site):
    seed_newsroom(site)
    site.configure(DEVDATA_STRATEGIES=sampled())

    site.roundtrip()

    # Image 1's uploader was not sampled: SET_NULL keeps it without one.
    assert rows(site, Image, "uploaded_by") == {1: (None,), 2: (1,)}
    # Post 1: category 2 was left out, so it falls back to the default (SET_DEFAULT);
    # post 2: image 3 was left out (SET_NULL); post 3's author and post 4's editor were
    # left out (CASCADE, PROTECT): they go.
    assert rows(site, Post, "author", "image", "category", "editor") == {
        1: (1, 1, 1, 3),
        2: (1, None, 1, None),
    }
    assert set(PostTags.objects.using(site.dev).values_list("post", "tag")) == {(1, 1), (2, 2)}
    assert site.pks(Tag) == {1, 2}
    # Reading 301's reader and 302's post were left out (CASCADE).
    assert rows(site, Reading, "post", "user") == {303: (2, 3)}
    # Correction 201's post went: SET(1) points it at post 1, which is exported.
    assert rows(site, Correction, "post") == {201: (1,), 202: (2,)}
    # Not enforced: the history comes as it is, of posts left out and deleted alike.
    assert rows(site, History, "post_id") == {101: (1,), 102: (99,), 103: (3,)}
    assert site.pks(User) == {1, 3}
    assert set(UserGroups.objects.using(site.dev).values_list("user", "group")) == {
        (1, 2),
        (3, 1),
    }
    assert site.pks(Group) == {1, 2}
    assert site.pks(Category) == {1}


def test_the_setting_drops_rows_as_1x_did(site):
    seed_newsroom(site)
    site.configure(DEVDATA_STRATEGIES=sampled(), DEVDATA_MISSING_REFERENCES="drop")

    site.roundtrip()

    assert rows(site, Image, "uploaded_by") == {2: (1,)}
    assert site.pks(Post) == set()
    assert site.pks(PostTags) == set()
    assert site.pks(Reading) == set()
    assert site.pks(Correction) == set()
    # A reference the database does not enforce never restricts, whatever the setting.
    assert site.pks(History) == {101, 102, 103}


def test_a_strategy_drops_its_own_rows_and_the_others_follow_on_delete(site):
    seed_newsroom(site)
    site.configure(DEVDATA_STRATEGIES=sampled(missing_references="drop"))

    site.roundtrip()

    assert rows(site, Image, "uploaded_by") == {2: (1,)}
    # Image 1 is not exported now: post 1 keeps its place without it.
    assert rows(site, Post, "image", "category") == {1: (None, 1), 2: (None, 1)}


def test_pull_parents_wins_over_the_rule(site):
    seed_newsroom(site)
    site.configure(
        DEVDATA_STRATEGIES={
            **sampled(),
            "newsroom.Image": [
                ExactQuerySetStrategy(
                    name="some", pks=[1, 2], pull_parents=True, pull_nullable=True
                )
            ],
        }
    )

    site.roundtrip()

    # Image 1's uploader is brought in rather than nulled.
    assert rows(site, Image, "uploaded_by") == {1: (4,), 2: (1,)}
    assert site.pks(User) == {1, 3, 4}


def test_plan_shows_the_rule_of_each_relation_and_the_rows_it_affects(site):
    seed_newsroom(site)
    site.configure(DEVDATA_STRATEGIES=sampled())

    plan = site.plan()

    post = plan["newsroom.Post"].text
    assert "restricted by newsroom.Post.image -> newsroom.Image: on_delete=SET_NULL" in post
    assert "newsroom.Post.image: 1 row nulled" in post
    assert (
        "restricted by newsroom.Post.category -> newsroom.Category: on_delete=SET_DEFAULT" in post
    )
    assert "kept with 1" in post
    assert "newsroom.Post.category: 1 row set" in post
    assert "on_delete=CASCADE: rows whose target is left out are dropped" in post
    assert "newsroom.Post.author: 1 row dropped" in post
    assert "newsroom.Post.editor: 1 row dropped" in post
    assert "newsroom.Image.uploaded_by: 1 row nulled" in plan["newsroom.Image"].text
    assert "newsroom.Correction.post: 1 row set" in plan["newsroom.Correction"].text
    history = plan["newsroom.History"].text
    assert "kept as is: newsroom.History.post -> newsroom.Post" in history
    assert "not enforced" in history
    assert plan.rows("newsroom.Post", "newsroom.History") == {
        "newsroom.Post": 2,
        "newsroom.History": 3,
    }

    site.configure(DEVDATA_MISSING_REFERENCES="drop")
    plan = site.plan()
    post = plan["newsroom.Post"].text
    assert "DEVDATA_MISSING_REFERENCES='drop': rows whose target is left out are dropped" in post
    assert "newsroom.Post.author: 1 row dropped" in post
    assert "newsroom.Post.image: 2 rows dropped" in post
    assert "newsroom.Post.category: 1 row dropped" in post
    assert plan.rows("newsroom.Post") == {"newsroom.Post": 0}


@pytest.mark.databases_only("sqlite")
def test_the_setting_and_the_option_are_validated(site):
    site.configure(DEVDATA_MISSING_REFERENCES="null")
    with pytest.raises(ConfigError, match=r"^DEVDATA_MISSING_REFERENCES must be 'on_delete' or"):
        call_command("devdata_export", str(site.export_dir), "--plan")
    site.configure(
        DEVDATA_MISSING_REFERENCES="on_delete",
        DEVDATA_STRATEGIES={
            "newsroom.Post": [ExactQuerySetStrategy(name="x", pks=[], missing_references="keep")]
        },
    )
    with pytest.raises(
        ConfigError,
        match=r"^DEVDATA_STRATEGIES\['newsroom.Post'\]\[0\]: missing_references must be",
    ):
        call_command("devdata_export", str(site.export_dir), "--plan")


def test_with_nothing_configured_tags_on_generic_relations_all_come(site):
    """Content types and permissions have no strategy of their own (they match by name):
    that is no sample, so tags that no tagged item uses come too."""
    Product.objects.using(site.src).create(pk=1, name="p")
    for pk in (1, 2, 3):
        ShopTag.objects.using(site.src).create(pk=pk, name=f"t{pk}")
    product_type = ContentType.objects.using(site.src).get(app_label="shop", model="product")
    TaggedItem.objects.using(site.src).create(
        pk=1, tag_id=1, content_type=product_type, object_id=1
    )

    site.roundtrip()

    assert site.pks(ShopTag) == {1, 2, 3}
    assert site.pks(TaggedItem) == {1}
