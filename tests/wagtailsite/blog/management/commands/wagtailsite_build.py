"""Fill a freshly migrated database with a small production site, through Wagtail's APIs.

What an editorial team leaves behind after a while: the project template's welcome page
and site replaced by their own, a blog with published and draft revisions, images and
documents in collections, tags, snippets, a form with submissions, a redirect, comments,
a locked page, a deleted post whose history stays, three locales, and groups whose
permissions differ from those Wagtail's migrations grant. Every page is served once, as
visitors would, so image renditions exist too.
"""

import datetime
import io

from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from django.test import Client
from PIL import Image as PillowImage
from wagtail.contrib.forms.models import FormSubmission
from wagtail.contrib.redirects.models import Redirect
from wagtail.documents.models import Document
from wagtail.images.models import Image
from wagtail.models import (
    Collection,
    Comment,
    GroupCollectionPermission,
    GroupPagePermission,
    Locale,
    Page,
    Site,
)

from wagtailsite.blog.models import (
    BlogCategory,
    BlogIndexPage,
    BlogPage,
    FormField,
    FormPage,
    HomePage,
)

HOSTNAME = "www.example.com"


def png(colour: str) -> bytes:
    buffer = io.BytesIO()
    PillowImage.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return buffer.getvalue()


def permission(app_label: str, codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


class Command(BaseCommand):
    help = __doc__

    def handle(self, **options):
        for code in ("fr", "de"):
            Locale.objects.create(language_code=code)

        # People and their permissions.
        admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
        authors = [
            User.objects.create_user(name, f"{name}@example.com", "pw", first_name=name.title())
            for name in ("alice", "bob", "carol", "dave")
        ]
        alice, bob, carol, dave = authors
        editors = Group.objects.get(name="Editors")
        # Production took away what Wagtail's migrations granted: no moderators, and
        # editors may not delete images.
        Group.objects.get(name="Moderators").delete()
        GroupCollectionPermission.objects.filter(
            group=editors, permission=permission("wagtailimages", "delete_image")
        ).delete()
        bloggers = Group.objects.create(name="Bloggers")
        bloggers.permissions.add(permission("wagtailadmin", "access_admin"))
        alice.groups.add(bloggers)
        bob.groups.add(bloggers, editors)
        carol.groups.add(editors)

        # Media in collections.
        root_collection = Collection.get_first_root_node()
        photos = root_collection.add_child(name="Photos")
        reports = root_collection.add_child(name="Reports")
        root_collection.add_child(name="Archive")
        for codename in ("add_image", "choose_image"):
            GroupCollectionPermission.objects.create(
                group=bloggers, collection=photos, permission=permission("wagtailimages", codename)
            )
        images = []
        for number, colour in enumerate(["red", "green", "blue", "orange", "purple"]):
            image = Image(
                title=f"Photo {number}",
                file=ImageFile(io.BytesIO(png(colour)), name=f"photo-{number}.png"),
                collection=photos,
                uploaded_by_user=authors[number % len(authors)],
            )
            image.save()
            image.tags.add(colour, "photo")
            images.append(image)
        report = Document(
            title="Annual report",
            file=ContentFile(b"Figures of the year.\n", name="annual-report.txt"),
            collection=reports,
            uploaded_by_user=dave,
        )
        report.save()
        report.tags.add("report")

        # The pages: the site replaces the project template's welcome page and site.
        root = Page.get_first_root_node()
        home = root.add_child(
            instance=HomePage(
                title="Devdata Times", slug="times", intro="<p>News.</p>", owner=admin
            )
        )
        home.save_revision(user=admin).publish()
        welcome = Page.objects.get(depth=2, slug="home")
        Site.objects.filter(root_page=welcome).delete()
        welcome.delete(user=admin)
        Site.objects.create(
            hostname=HOSTNAME, port=80, root_page=home, is_default_site=True, site_name="Times"
        )
        Redirect.objects.create(old_path="/news", redirect_page=home)

        blog = home.add_child(
            instance=BlogIndexPage(title="Blog", slug="blog", intro="<p>Posts.</p>", owner=admin)
        )
        blog.save_revision(user=admin).publish()
        for codename in ("add_page", "change_page", "publish_page"):
            GroupPagePermission.objects.create(
                group=bloggers, page=blog, permission=permission("wagtailcore", codename)
            )
        categories = [
            BlogCategory.objects.create(name=name, slug=name.lower())
            for name in ("Data", "Django", "Privacy", "Unused")
        ]
        for number in range(8):
            author = authors[number % 3]
            post = blog.add_child(
                instance=BlogPage(
                    title=f"Post {number}",
                    slug=f"post-{number}",
                    date=datetime.date(2024, 1, 1) + datetime.timedelta(days=number),
                    intro=f"Intro of post {number}",
                    body=f'<p>Read <a linktype="page" id="{blog.pk}">the blog</a>.</p>',
                    image=images[number % len(images)] if number % 4 else None,
                    attachment=report if number == 6 else None,
                    owner=author,
                    live=False,
                )
            )
            post.categories.set(categories[number % 3 : number % 3 + 1])
            post.tags.add("devdata", f"topic-{number % 2}")
            post.save_revision(user=author).publish()
        posts = list(BlogPage.objects.order_by("pk"))
        # A later draft on top of a published post, a comment, a lock.
        posts[7].title = "Post 7, revised"
        posts[7].save_revision(user=carol)
        Comment.objects.create(page=posts[5], user=carol, text="Typo?", contentpath="body")
        posts[4].locked = True
        posts[4].locked_by = bob
        posts[4].locked_at = posts[4].first_published_at
        posts[4].save()
        # A post deleted on purpose: its log entries stay, pointing at it.
        posts[2].delete(user=admin)

        contact = home.add_child(
            instance=FormPage(
                title="Contact",
                slug="contact",
                intro="<p>Write to us.</p>",
                thank_you_text="<p>Thanks.</p>",
                to_address="desk@example.com",
                from_address="site@example.com",
                subject="Contact form",
                owner=admin,
            )
        )
        FormField.objects.create(page=contact, label="Your name", field_type="singleline")
        FormField.objects.create(page=contact, label="Message", field_type="multiline")
        contact.save_revision(user=admin).publish()
        for name in ("Eve", "Frank"):
            FormSubmission.objects.create(
                page=contact, form_data={"your_name": name, "message": "Hello"}
            )

        # Visitors: renditions of the images the pages show.
        client = Client(HTTP_HOST=HOSTNAME)
        for page in Page.objects.live().filter(depth__gt=1).specific():
            response = client.get(page.url)
            assert response.status_code == 200, (page.url, response.status_code)
