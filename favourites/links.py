"""Favourites' part of every share link (sharing.extensions), registered in FavouritesConfig.ready():
its settings in the link's form and JSON, its badge, the favourites added per day in the link's
statistics, and the visitors who left their address among those reminded before it expires."""

from django import forms

from favourites.models import FavouriteDay, FavouriteList, FavouritesSettings
from sharing.extensions import LinkExtension
from sharing.forms import SwitchInput

SETTINGS = ["favourites", "favourites_limit", "favourites_title", "favourites_require_email", "favourites_comments"]
DEFAULT_TITLE = FavouritesSettings._meta.get_field("favourites_title").default


class FavouritesOnLinks(LinkExtension):
    name = "Favourites"
    related = ("favourites_settings",)
    day_columns = {"favourites": "Favourites added"}
    activity = {"favourites": "Added {photo} to their favourites"}

    def settings_fields(self):
        fields = forms.fields_for_model(
            FavouritesSettings,
            fields=SETTINGS,
            labels={
                "favourites": "Clients may choose favourites",
                "favourites_limit": "Most photos per person",
                "favourites_title": "Call the favourites",
                "favourites_require_email": "Ask for an e-mail address",
                "favourites_comments": "Clients may comment on photos",
            },
            help_texts={"favourites_title": "What clients see, e.g. “Album selection”."},
            widgets={
                "favourites": SwitchInput,
                "favourites_title": forms.TextInput(attrs={"placeholder": "e.g. Album selection"}),
                "favourites_require_email": SwitchInput,
                "favourites_comments": SwitchInput,
            },
        )
        fields["favourites_title"].required = False  # empty: the default title
        # The model's rules (the highest limit, the column's range) are checked here: the link's
        # form full_clean()s only the link, and the defaults form copies these fields.
        for name, field in fields.items():
            model_rules = FavouritesSettings._meta.get_field(name).validators
            field.validators = [*field.validators, *(rule for rule in model_rules if rule not in field.validators)]
        return fields

    def settings(self, link):
        settings = FavouritesSettings.of(link)
        return {name: getattr(settings, name) for name in SETTINGS}

    def save_settings(self, link, values):
        settings = FavouritesSettings.of(link)
        for name, value in values.items():
            setattr(settings, name, value)
        settings.favourites_title = values["favourites_title"] or DEFAULT_TITLE
        settings.save()

    def badges(self, link):
        settings = FavouritesSettings.of(link)
        if not settings.favourites:
            return []
        limit = f" (up to {settings.favourites_limit})" if settings.favourites_limit else ""
        return [f"♥ {settings.favourites_title}{limit}"]

    def add_to_day(self, link, day, counter):
        FavouriteDay.objects.add_counts(link, day, **{counter: 1})

    def day_counts(self, link_ids, first, last):
        rows = FavouriteDay.objects.filter(link__in=link_ids).for_days(first, last)
        return {(row.link_id, row.day): {"favourites": row.favourites} for row in rows}

    def reminder_recipients(self, link):
        return set(FavouriteList.objects.filter(link=link).exclude(email="").values_list("email", flat=True))
