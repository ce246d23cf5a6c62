"""A site whose migrations create default rows, as CMSs do: a welcome page with a
revision, a default configuration pointing at it, and a group granted permissions."""

from typing import Any

from django.db import models


class BlankAsNoneField(models.CharField):
    """Text that is ``None`` in Python and ``''`` in the database (NetBox-style): the
    column is NOT NULL, so only the field's own conversion makes ``None`` storable."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value or None

    def to_python(self, value: Any) -> Any:
        return super().to_python(value) or None

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return "" if value is None else value


class TagListField(models.TextField):
    """Tags, a list in Python and comma-separated text in the database: ``to_python``
    makes a list of anything, ``None`` too, yet ``None`` is stored as NULL."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else value.split(",")

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list):
            return value
        return value.split(",") if value else []

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else ",".join(self.to_python(value))

    def value_to_string(self, obj: Any) -> Any:
        return self.get_prep_value(self.value_from_object(obj))


class Page(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=100)


class HomePage(Page):
    """A page of one kind; the ``welcome`` migration's page of another are both pages."""

    hero = models.CharField(max_length=100, blank=True)


class ArticlePage(Page):
    body = models.TextField()


class Revision(models.Model):
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="revisions")
    content = models.TextField()


class SiteConfig(models.Model):
    name = models.CharField(max_length=50)
    is_default = models.BooleanField(default=False)
    root_page = models.ForeignKey(Page, on_delete=models.PROTECT, null=True)


class Device(models.Model):
    name = models.CharField(max_length=50)
    serial = BlankAsNoneField(max_length=50, blank=True)
    tags = TagListField(null=True, blank=True)
