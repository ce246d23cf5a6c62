"""The Wagtail site with a sample of pages: the three published last, of any type.

Nothing else is configured: the pages above them (not foreign keys, but a materialised
path) must come with them, and the rest follow from the default strategy.
"""

from wagtailsite.settings import *  # noqa: F403

DEVDATA_STRATEGIES = {
    "wagtailcore.Page": [
        (
            "devdata_queryset.LatestSampleQuerySetStrategy",
            {"name": "latest", "count": 3, "order_by": "-first_published_at"},
        )
    ],
}
