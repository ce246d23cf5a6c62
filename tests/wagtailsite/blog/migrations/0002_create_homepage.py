"""Wagtail's project template's own data migration: the welcome page becomes a HomePage."""

from django.db import migrations


def create_homepage(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    Page = apps.get_model("wagtailcore.Page")
    Site = apps.get_model("wagtailcore.Site")
    HomePage = apps.get_model("blog.HomePage")
    database = schema_editor.connection.alias  # the template's omits it: one database only

    # Delete the default homepage (of type Page) made by wagtailcore.0002_initial_data.
    page_content_type = ContentType.objects.using(database).get(model="page", app_label="wagtailcore")
    Page.objects.using(database).filter(content_type=page_content_type, slug="home", depth=2).delete()

    homepage_content_type, __ = ContentType.objects.using(database).get_or_create(
        model="homepage", app_label="blog"
    )
    homepage = HomePage.objects.using(database).create(
        title="Home",
        draft_title="Home",
        slug="home",
        content_type=homepage_content_type,
        path="00010001",
        depth=2,
        numchild=0,
        url_path="/home/",
    )
    Site.objects.using(database).create(hostname="localhost", root_page=homepage, is_default_site=True)


class Migration(migrations.Migration):
    run_before = [("wagtailcore", "0053_locale_model")]

    dependencies = [("blog", "0001_initial")]

    operations = [migrations.RunPython(create_homepage, migrations.RunPython.noop)]
