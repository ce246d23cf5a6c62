import testsite.defaults.models
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("defaults", "0002_default_rows")]

    operations = [
        migrations.AddField(
            model_name="device",
            name="tags",
            field=testsite.defaults.models.TagListField(blank=True, null=True),
        ),
    ]
