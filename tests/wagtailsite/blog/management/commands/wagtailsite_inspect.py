"""Print, as JSON, what a visitor and the site's editors find in ``default``.

- ``default_site``: the default site's hostname and root page, or the error that
  ``Site.objects.get(is_default_site=True)`` raises;
- ``pages``: every page but the root, by key: its title, type, tree path, owner, URL,
  whether it is live, and the status of a visitor's request for it (and whether the
  response shows its title);
- ``tree_problems``: what treebeard's ``find_problems()`` finds in the page tree and in
  the collection tree, by kind;
- ``users``: every user, with their groups, the status of the admin's dashboard for them,
  and of the editor of each page they own.
"""

import json

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.test import Client
from wagtail.models import Collection, Page, Site

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
