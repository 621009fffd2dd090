# Each share link's favourites settings and its favourites per day move here from the sharing
# app (its ShareLink and LinkDay columns), before sharing's migration drops those columns.

import django.db.models.deletion
from django.db import migrations, models

SETTINGS = ["favourites", "favourites_limit", "favourites_title", "favourites_require_email", "favourites_comments"]


def move_in(apps, schema_editor):
    ShareLink = apps.get_model("sharing", "ShareLink")
    LinkDay = apps.get_model("sharing", "LinkDay")
    FavouritesSettings = apps.get_model("favourites", "FavouritesSettings")
    FavouriteDay = apps.get_model("favourites", "FavouriteDay")
    FavouritesSettings.objects.bulk_create(
        (
            FavouritesSettings(link_id=row["id"], **{name: row[name] for name in SETTINGS})
            for row in ShareLink.objects.values("id", *SETTINGS).iterator()
        ),
        batch_size=1000,
    )
    FavouriteDay.objects.bulk_create(
        (
            FavouriteDay(link_id=link_id, day=day, favourites=count)
            for link_id, day, count in LinkDay.objects.filter(favourites__gt=0)
            .values_list("link_id", "day", "favourites")
            .iterator()
        ),
        batch_size=1000,
    )


def move_out(apps, schema_editor):
    ShareLink = apps.get_model("sharing", "ShareLink")
    LinkDay = apps.get_model("sharing", "LinkDay")
    for settings in apps.get_model("favourites", "FavouritesSettings").objects.iterator():
        ShareLink.objects.filter(pk=settings.link_id).update(**{name: getattr(settings, name) for name in SETTINGS})
    for row in apps.get_model("favourites", "FavouriteDay").objects.iterator():
        LinkDay.objects.update_or_create(link_id=row.link_id, day=row.day, defaults={"favourites": row.favourites})


class Migration(migrations.Migration):
    dependencies = [
        ("favourites", "0001_initial"),
        ("sharing", "0004_link_favourites"),
    ]
    # Sharing drops its copies of these columns once they are here.
    run_before = [("sharing", "0005_favourites_settings_move_out")]

    operations = [
        migrations.CreateModel(
            name="FavouritesSettings",
            fields=[
                (
                    "link",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        primary_key=True,
                        related_name="favourites_settings",
                        serialize=False,
                        to="sharing.sharelink",
                    ),
                ),
                (
                    "favourites",
                    models.BooleanField(db_default=False, default=False, verbose_name="clients may choose favourites"),
                ),
                (
                    "favourites_limit",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Empty for no limit.",
                        null=True,
                        verbose_name="most favourites per person",
                    ),
                ),
                (
                    "favourites_title",
                    models.CharField(
                        db_default="Favourites",
                        default="Favourites",
                        max_length=100,
                        verbose_name="title of the favourites",
                    ),
                ),
                (
                    "favourites_require_email",
                    models.BooleanField(db_default=False, default=False, verbose_name="ask for an e-mail address"),
                ),
                (
                    "favourites_comments",
                    models.BooleanField(db_default=False, default=False, verbose_name="clients may comment on photos"),
                ),
            ],
            options={"verbose_name_plural": "favourites settings", "db_table": "favourites_settings"},
        ),
        migrations.CreateModel(
            name="FavouriteDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("favourites", models.IntegerField(db_default=0, default=0)),
                (
                    "link",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DB_CASCADE, related_name="+", to="sharing.sharelink"
                    ),
                ),
            ],
            options={
                "db_table": "favourite_days",
                "constraints": [models.UniqueConstraint(fields=("link", "day"), name="favourite_days_link_day")],
            },
        ),
        migrations.RunPython(move_in, move_out),
    ]
