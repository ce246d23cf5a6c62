"""Default rows, as a CMS's data migrations make them: a welcome page with a revision, the
default configuration rooted at it, and a "Moderators" group that may change pages."""

from django.db import migrations


def create_default_rows(apps, schema_editor):
    db = schema_editor.connection.alias
    Page = apps.get_model("defaults", "Page")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    welcome = Page.objects.using(db).create(slug="welcome", title="Welcome to your new site!")
    apps.get_model("defaults", "Revision").objects.using(db).create(page=welcome, content="Hi")
    apps.get_model("defaults", "SiteConfig").objects.using(db).create(
        name="default", is_default=True, root_page=welcome
    )
    # Permissions are made after every migration: a data migration that grants some
    # creates them itself.
    page_type, _ = ContentType.objects.using(db).get_or_create(app_label="defaults", model="page")
    moderators = Group.objects.using(db).create(name="Moderators")
    for action in ("change", "view"):
        permission, _ = Permission.objects.using(db).get_or_create(
            content_type=page_type,
            codename=f"{action}_page",
            defaults={"name": f"Can {action} page"},
        )
        moderators.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("defaults", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_default_rows, migrations.RunPython.noop)]
