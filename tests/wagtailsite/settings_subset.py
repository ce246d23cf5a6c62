"""The Wagtail site's settings with a sample: the three latest blog posts.

Nothing else is configured: the pages above them, their owners and what those need
should come along by themselves.
"""

from wagtailsite.settings import *  # noqa: F403

DEVDATA_STRATEGIES = {
    "blog.BlogPage": [
        (
            "devdata_queryset.LatestSampleQuerySetStrategy",
            {"name": "latest", "count": 3, "order_by": "-date"},
        )
    ],
}
