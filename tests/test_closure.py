"""Pulls and restrictions reach a fixed point, whatever the order models are taken in.

A row is never dropped for a reference to a row that the same export brings later, and
many-to-many rows come whenever both ends are exported, however each end arrived.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from test_rules import UserGroups, rows, seed_newsroom

from devdata_queryset import ExactQuerySetStrategy, QuerySetStrategy
from testsite.newsroom.models import Feature, Post, Reading, Section

pytestmark = pytest.mark.usefixtures("intact")


def test_a_row_whose_target_is_pulled_later_is_kept(site):
    """Sections are taken before features (features reference them), and features pull
    their posts: section 1's front post comes only then, yet section 1 stays."""
    seed_newsroom(site)
    Section.objects.using(site.src).create(pk=1, name="news", front_id=2)
    Section.objects.using(site.src).create(pk=2, name="sport", front_id=3)
    Feature.objects.using(site.src).create(pk=1, section_id=1, post_id=2)
    site.configure(
        DEVDATA_STRATEGIES={
            "newsroom.Post": [ExactQuerySetStrategy(name="first", pks=[1])],
            "newsroom.Feature": [QuerySetStrategy(name="all", pull_parents=True)],
        }
    )

    output = site.export()
    site.import_()

    order = site.plan().order
    assert order.index("newsroom.Section") < order.index("newsroom.Feature")
    assert site.pks(Post) == {1, 2}
    assert rows(site, Section, "front") == {1: (2,)}  # section 2's front post is left out
    assert rows(site, Feature, "section", "post") == {1: (1, 2)}
    assert "newsroom.Section: dropped 1 rows" in output.stdout


def test_pulled_users_come_with_their_groups_and_readings(site):
    """User 1 is pulled in as author 1's user; user 3 is sampled. Both come with their
    group memberships and the readings of exported posts."""
    seed_newsroom(site)
    Reading.objects.using(site.src).create(pk=304, post_id=1, user_id=1)
    site.configure(
        DEVDATA_STRATEGIES={
            "newsroom.Author": [ExactQuerySetStrategy(name="one", pks=[1], pull_parents=True)],
            "auth.User": [ExactQuerySetStrategy(name="editor", pks=[3])],
        }
    )

    site.roundtrip()

    assert site.pks(User) == {1, 3}
    assert set(UserGroups.objects.using(site.dev).values_list("user", "group")) == {
        (1, 2),
        (3, 1),
    }
    assert site.pks(Post) == {1, 2}
    assert rows(site, Reading, "post", "user") == {303: (2, 3), 304: (1, 1)}
