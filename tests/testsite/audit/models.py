"""Records that point at other rows in ways the ORM does not declare.

Documents form a tree through a code kept in a ``CharField`` (``parent_code``), and
attachments name their document by code: a plugin declares both (``devdata_references``).
The audit log and the reference index point at any row by content type and id without a
``GenericForeignKey``: the log keeps the content type's id in a plain integer column, as
NetBox's cable paths and many audit apps do; ``DEVDATA_GENERIC_REFERENCES`` names both.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models


class Document(models.Model):
    code = models.CharField(max_length=20, unique=True)
    #: The code of the parent document; empty for a root.
    parent_code = models.CharField(max_length=20, blank=True, default="")


class Attachment(models.Model):
    document_code = models.CharField(max_length=20)
    name = models.CharField(max_length=50)


class LogEntry(models.Model):
    content_type_id = models.PositiveIntegerField()
    object_id = models.CharField(max_length=40)
    action = models.CharField(max_length=20)


class ReferenceIndex(models.Model):
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    to_content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    to_object_id = models.PositiveIntegerField()
