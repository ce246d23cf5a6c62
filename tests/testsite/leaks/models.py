"""Copies of personal values that an application keeps beside the originals.

As django-oscar copies customers' names into ``search_text`` columns, a profile keeps its
user's name in a text for search and in a JSON blob: anonymising ``auth.User`` leaves
these as they were unless they are anonymised too (the leak audit finds them).
"""

from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    search_text = models.TextField(blank=True)
    data = models.JSONField(default=dict)
    #: A choice from a fixed list: never a copy of a personal value.
    plan = models.CharField(
        max_length=10, choices=[("free", "Free"), ("paid", "Paid")], default="free"
    )
