"""The Wagtail site with a sample of pages: the three published last, of any type.

Nothing else is configured: the pages above them (not foreign keys, but a materialised
path) must come with them, and the rest follow from the default strategy.
"""

from django.db.models import F

from wagtailsite.settings import *  # noqa: F403

# Pages never published have no date: PostgreSQL sorts NULLs first in descending order,
# SQLite and MariaDB last, so the order says where they go.
DEVDATA_STRATEGIES = {
    "wagtailcore.Page": [
        (
            "devdata_queryset.LatestSampleQuerySetStrategy",
            {
                "name": "latest",
                "count": 3,
                "order_by": F("first_published_at").desc(nulls_last=True),
            },
        )
    ],
}
