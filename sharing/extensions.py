"""What other apps add to every share link, without sharing knowing them.

An app built on share links subclasses LinkExtension and registers it in its AppConfig.ready().
Sharing asks every registered extension for its part of:
- the link's settings form (ShareLinkForm): its fields, their values, and saving them;
- the link's JSON (the same values under the same names);
- the link's card: short badges;
- the statistics (the link's page, its CSV, the daily digest): counters per day of its own;
- the activity log: how its events read;
- the expiry reminder: more people to remind;
- the rows loaded with a link, so that reading its settings costs no query.
"""


class LinkExtension:
    """One app's part of every share link; every hook has a default that adds nothing."""

    # The legend of its settings in the link's settings form.
    name = ""
    # Relations of ShareLink to load with every link (select_related).
    related = ()
    # Its counters per day: {counter: label}, shown after the link's own.
    day_columns = {}
    # How its events read in the activity log: {event: text with {photo}}.
    activity = {}

    def settings_fields(self):
        """The form fields of its settings, by name (names of the link's JSON too)."""
        return {}

    def settings(self, link):
        """The values of its settings for `link`, by field name."""
        return {}

    def save_settings(self, link, values):
        """Store the cleaned values of its settings for `link` (saved already)."""

    def badges(self, link):
        """Short texts on the link's card, such as a setting that is on."""
        return []

    def add_to_day(self, link, day, counter):
        """Count one of its `counter` for `link` on `day` (within the link's counting transaction)."""

    def day_counts(self, link_ids, first, last):
        """Its counters of those links from `first` to `last`: {(link id, day): {counter: n}}."""
        return {}

    def reminder_recipients(self, link):
        """More addresses that get the link's expiry reminder."""
        return set()


EXTENSIONS = []


def register(extension):
    EXTENSIONS.append(extension)


def related():
    return [name for extension in EXTENSIONS for name in extension.related]


def day_columns():
    return {name: label for extension in EXTENSIONS for name, label in extension.day_columns.items()}


def activity():
    return {event: text for extension in EXTENSIONS for event, text in extension.activity.items()}


def add_to_day(link, day, counter):
    for extension in EXTENSIONS:
        if counter in extension.day_columns:
            extension.add_to_day(link, day, counter)
