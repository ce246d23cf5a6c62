"""The Wagtail site with a sample of posts: the three latest, their owners, and the admin.

Of the users, only the admin (the first user) is taken; the posts' owners are pulled in
by the posts (``pull_nullable``), whose other nullable references (images, documents)
are pulled too. Everything else is left to the default strategy.
"""

from wagtailsite.settings import *  # noqa: F403

DEVDATA_STRATEGIES = {
    "auth.User": [("devdata_queryset.ExactQuerySetStrategy", {"name": "admin", "pks": [1]})],
    "blog.BlogPage": [
        (
            "devdata_queryset.LatestSampleQuerySetStrategy",
            {"name": "latest", "count": 3, "order_by": "-date", "pull_nullable": True},
        )
    ],
}
