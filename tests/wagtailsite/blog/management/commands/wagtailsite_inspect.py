"""Print, as JSON, what a visitor and the site's editors find in ``default``.

- ``default_site``: the default site's hostname and root page, or the error that
  ``Site.objects.get(is_default_site=True)`` raises;
- ``pages``: every page but the root, by key: its title, type, tree path, owner, URL,
  whether it is live, and the status of a visitor's request for it (and whether the
  response shows its title);
- ``tree_problems``: what treebeard's ``find_problems()`` finds in the page tree and in
  the collection tree, by kind;
- ``dangling``: references kept as a content type and an id (revisions, the reference
  index, log entries of other models) whose object is not there, as
  ``model pk: content type id``;
- ``users``: every user, with their groups, the status of the admin's dashboard for them,
  and of the editor of each page they own.
"""

import json

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.test import Client
from wagtail.models import Collection, ModelLogEntry, Page, ReferenceIndex, Revision, Site

PROBLEMS = ("bad_alpha", "bad_path", "orphans", "bad_depth", "bad_numchild")


class Command(BaseCommand):
    help = __doc__

    def handle(self, **options):
        self.stdout.write(
            json.dumps(
                {
                    "default_site": default_site(),
                    "pages": pages(),
                    "tree_problems": tree_problems(),
                    "dangling": dangling(),
                    "users": users(),
                },
                indent=1,
            )
        )


def default_site() -> dict | str:
    try:
        site = Site.objects.get(is_default_site=True)
    except (Site.DoesNotExist, Site.MultipleObjectsReturned) as exc:
        return f"{type(exc).__name__}: {exc}"
    return {"hostname": site.hostname, "root_page": site.root_page_id}


def pages() -> dict[int, dict]:
    found = {}
    for page in (
        Page.objects.filter(depth__gt=1).specific().select_related("owner").order_by("path")
    ):
        url = page.get_url()
        visit = {
            "title": page.title,
            "type": type(page).__name__,
            "path": page.path,
            "owner": page.owner.username if page.owner else None,
            "url": url,
            "live": page.live,
        }
        if url is not None:
            response = Client(
                raise_request_exception=False, HTTP_HOST=page.get_site().hostname
            ).get(url)
            visit["status"] = response.status_code
            visit["shows_title"] = page.title in response.content.decode()
        found[page.pk] = visit
    return found


def tree_problems() -> dict[str, dict[str, list[int]]]:
    return {
        model.__name__: {
            kind: ids for kind, ids in zip(PROBLEMS, model.find_problems(), strict=True) if ids
        }
        for model in (Page, Collection)
    }


#: Models that reference objects by content type and id, without a foreign key: the
#: (content type, id) pairs of each.
BY_CONTENT_TYPE = {
    Revision: [("base_content_type_id", "object_id")],
    ReferenceIndex: [("base_content_type_id", "object_id"), ("to_content_type_id", "to_object_id")],
    ModelLogEntry: [("content_type_id", "object_id")],
}


def dangling() -> list[str]:
    found = []
    for model, pairs in BY_CONTENT_TYPE.items():
        for row in model.objects.values("pk", *(column for pair in pairs for column in pair)):
            for content_type, object_id in pairs:
                target = ContentType.objects.get_for_id(row[content_type]).model_class()
                if not target._base_manager.filter(pk=row[object_id]).exists():
                    found.append(
                        f"{model.__name__} {row['pk']}: {target._meta.label} {row[object_id]}"
                    )
    return found


def users() -> dict[str, dict]:
    found = {}
    for user in User.objects.order_by("username"):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        found[user.username] = {
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "admin": client.get("/admin/").status_code,
            "editors": {
                page.pk: client.get(f"/admin/pages/{page.pk}/edit/").status_code
                for page in Page.objects.filter(owner=user).order_by("pk")
            },
        }
    return found
