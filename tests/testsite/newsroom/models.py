"""A newsroom: the shapes of a CMS, where the app's own on_delete rules decide a subset.

Authors are sampled. A post's image (uploaded by a user, SET_NULL) may be left out and the
post still stands; its category falls back to the default one (SET_DEFAULT); its author
(CASCADE) and editor (PROTECT) must come with it. The history keeps rows of deleted posts
on purpose (``db_constraint=False``). Sections point at a front post that other rows may
pull in later in the same export.
"""

from django.conf import settings
from django.db import models


class Author(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)


class Category(models.Model):
    """Category 1 is the default one, that posts fall back to."""

    name = models.CharField(max_length=100)


class Image(models.Model):
    title = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )


class Tag(models.Model):
    name = models.CharField(max_length=50)


class Post(models.Model):
    title = models.CharField(max_length=100)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True)
    category = models.ForeignKey(Category, on_delete=models.SET_DEFAULT, default=1)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True)
    readers = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Reading", related_name="+")


class Reading(models.Model):
    """An explicit ``through`` model: a user read a post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    minutes = models.PositiveIntegerField(default=1)


class History(models.Model):
    """What happened to posts, kept after a post is deleted: the key is not enforced."""

    post = models.ForeignKey(
        Post, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    action = models.CharField(max_length=20)


class Section(models.Model):
    """A section of the site and the post on its front, like a CMS site and its root page."""

    name = models.CharField(max_length=50)
    front = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+")


class Feature(models.Model):
    """A post featured in a section: exported after sections, it may pull their posts in."""

    section = models.ForeignKey(Section, on_delete=models.SET_NULL, null=True)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")


class Correction(models.Model):
    """A correction of a post that falls back to post 1 (``SET(1)``) when its post goes."""

    post = models.ForeignKey(Post, on_delete=models.SET(1), related_name="+")
    text = models.CharField(max_length=100)
