# The favourites' settings of each link and their counts per day now live in the favourites app,
# whose migration 0002_favourites_settings_and_days copies them over first (its run_before).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0004_link_favourites"),
    ]

    operations = [
        migrations.RemoveField(model_name="linkday", name="favourites"),
        migrations.RemoveField(model_name="sharelink", name="favourites"),
        migrations.RemoveField(model_name="sharelink", name="favourites_comments"),
        migrations.RemoveField(model_name="sharelink", name="favourites_limit"),
        migrations.RemoveField(model_name="sharelink", name="favourites_require_email"),
        migrations.RemoveField(model_name="sharelink", name="favourites_title"),
    ]
