"""The order a gallery shows its photos in, stated once.

A gallery's photos come set by set, in the photographer's order of sets (photos of no set
first, under the gallery itself), and within each by the gallery's sort:

- capture time: EXIF DateTimeOriginal, to the sub-second (stored_capture_time() below says
  how a time without offset is read); photos without one follow, by file name;
- file name, naturally (IMG_2 before IMG_10);
- upload time;
- manual: the photographer's own order, kept as sparse integer positions. Moving one photo
  gives it a position between its new neighbours' (one row), and renumbers only the few next
  photos when two neighbours have no integer left between them.

Every key is non-null and every order ends with the id, so an order is total and keyset
neighbours (`before`/`after`) are plain comparisons. No model is imported here: the models
import this module.
"""

import time
from collections import defaultdict
from datetime import UTC, datetime

from django.db import models
from django.db.models import Case, F, Max, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone


class Sort(models.TextChoices):
    CAPTURE_TIME = "capture_time", "Capture time"
    NAME = "name", "File name"
    UPLOADED = "uploaded", "Upload time"
    MANUAL = "manual", "Manual"


NO_SET_RANK = -1  # photos of no set come before every set
NOT_CAPTURED = datetime(9999, 12, 31, tzinfo=UTC)  # photos without a capture time sort after all others
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
GAP = 1 << 20  # between neighbours' manual positions: about 20 moves into one gap before it is used up
ROOM_WINDOW = 50  # how many following photos a move may renumber before renumbering the whole gallery

# The keys after the set, most significant first, for each sort; every order ends with the id.
SORT_KEYS = {
    Sort.CAPTURE_TIME: ["capture_key", "name_key", "uploaded_key"],
    Sort.NAME: ["name_key", "uploaded_key"],
    Sort.UPLOADED: ["uploaded_key"],
    Sort.MANUAL: ["manual_key"],
}
# Each key's expression, and the constant it takes under a sort that does not use it. Listed
# so that every sort's keys come in its own order (one ORDER BY then serves every gallery).
KEY_EXPRESSIONS = {
    "manual_key": (F("position"), 0),
    "capture_key": (Coalesce("captured_at", Value(NOT_CAPTURED)), NOT_CAPTURED),
    "name_key": (F("sort_key"), ""),
    "uploaded_key": (F("uploaded_at"), NEVER),
}


def order_keys(sort=None):
    """{name: expression} to annotate photos with and order them by, ending with `id`.

    `sort` is one gallery's sort; without it each photo's own gallery's sort is read (a join),
    for queries that span galleries, such as each gallery's first photo on the dashboard.
    """
    keys = {"set_rank": Coalesce("photo_set__position", NO_SET_RANK)}
    if sort:
        keys |= {name: KEY_EXPRESSIONS[name][0] for name in SORT_KEYS[sort]}
    else:
        for name, (expression, unused) in KEY_EXPRESSIONS.items():
            using = [each for each, names in SORT_KEYS.items() if name in names]
            keys[name] = Case(When(gallery__sort__in=using, then=expression), default=Value(unused))
    return keys


def keyset(photo, keys, lookup):
    """Rows whose (key1, key2, …, id) compare `lookup` ("gt" or "lt") to the photo's: the photos
    after or before it. The photo carries its keys' values (it was fetched in display order)."""
    condition, equal_so_far = Q(), Q()
    for key in keys:
        condition |= equal_so_far & Q(**{f"{key}__{lookup}": getattr(photo, key)})
        equal_so_far &= Q(**{key: getattr(photo, key)})
    return condition


def stored_capture_time(taken):
    """A capture time from EXIF (images.capture_time) as stored: with the camera's own offset
    where it wrote one, else read in the site's time zone (TIME_ZONE). Most cameras write no
    offset, so the two bodies of one wedding are usually both without one: read in the same
    zone, their photos interleave as the day happened (as long as both clocks were set right).
    A time that is not in the years 1-9999 in UTC (9999:12:31 23:59:59 at -14:00) is none: a
    database would store it and then fail to read the photo back."""
    if taken is None:
        return None
    if timezone.is_naive(taken):
        taken = timezone.make_aware(taken, timezone.get_default_timezone())
    try:
        taken.astimezone(UTC)
    except OverflowError:
        return None
    return taken


def upload_position():
    """A new photo's manual position: the upload time in microseconds, so uploads into a gallery
    in manual order come last, after every renumbered position (GAP x photos is far smaller)."""
    return time.time_ns() // 1000


def positions_after(low, following, complete):
    """Positions for a photo placed after the position `low` (None: first), then for the fewest
    photos after it that must move to make room: [photo's, following[0]'s, …].

    `following` are the positions after `low` in order; `complete` says they are all of them.
    None when the window holds no room (the caller renumbers and tries again).
    """
    if low is None:
        return [following[0] - GAP if following else 0]
    for moved, high in enumerate(following):
        if high - low >= moved + 2:  # room for the photo and the `moved` photos before `high`
            step = (high - low) // (moved + 2)
            return [low + step * (n + 1) for n in range(moved + 1)]
    if complete:  # past the last photo there is all the room there is
        return [low + GAP * (n + 1) for n in range(len(following) + 1)]
    return None


def mark_sets(sets, count, per_page):
    """Each of `sets` (in order, with `photo_count`; `count` photos in all) gets `start`, its
    first photo's index in the gallery, and `page`, the page that photo is on."""
    start = count - sum(photo_set.photo_count for photo_set in sets)
    for photo_set in sets:
        photo_set.start, photo_set.page = start, start // per_page + 1
        start += photo_set.photo_count


class SectionedPhotos:
    """A page's photos, read (and even their query built) when first iterated, each told where it
    stands in its section (its set, or the photos of no set): `number` (from 1) and
    `section_size`, and `opens_set`, the set it is the first photo of. `ordered_photos` gives all
    of the gallery's photos in display order."""

    def __init__(self, ordered_photos, page, sets, per_page):
        self.ordered_photos, self.first_index, self.sets = ordered_photos, page.start_index() - 1, sets
        self.count = page.paginator.count
        self.end_index = page.end_index()
        mark_sets(sets, self.count, per_page)
        self._photos = None

    def __iter__(self):
        return iter(self.photos)

    def __len__(self):
        return len(self.photos)

    def __getitem__(self, index):
        return self.photos[index]

    @property
    def photos(self):
        if self._photos is None:
            self._photos = list(self.ordered_photos()[max(0, self.first_index) : self.end_index])
            self._mark(self._photos)
        return self._photos

    def _mark(self, photos):
        sections = {None: (0, self.count - sum(photo_set.photo_count for photo_set in self.sets))}
        for photo_set in self.sets:
            sections[photo_set.pk] = (photo_set.start, photo_set.photo_count)
        opening = {photo_set.start: photo_set for photo_set in self.sets if photo_set.photo_count}
        for index, photo in enumerate(photos, start=self.first_index):
            section_start, photo.section_size = sections.get(photo.photo_set_id, (index, 1))
            photo.number = index - section_start + 1
            photo.opens_set = opening.get(index)


# Manual order. Each function takes `photos`, all of one gallery's photos (`gallery.photos`).


def renumber(photos, sort=Sort.MANUAL):
    """Manual positions GAP apart, in `sort` order: the order shown so far becomes the manual one."""
    ordered = list(photos.in_display_order(sort).only("pk", "position"))
    for number, photo in enumerate(ordered, start=1):
        photo.position = number * GAP
    photos.bulk_update(ordered, ["position"], batch_size=1000)


def place(photos, photo, after=None, photo_set_id=None):
    """Put `photo` right after `after`, in its set; or without `after`, first in the set
    `photo_set_id` (None: among the photos of no set). The photo's row changes, and a few next
    ones only when its new neighbours have no room between them."""
    if after is not None:
        photo_set_id = after.photo_set_id
    following = photos.filter(photo_set_id=photo_set_id).exclude(pk=photo.pk)
    if after is not None:
        following = following.filter(Q(position__gt=after.position) | Q(position=after.position, pk__gt=after.pk))
    following = list(following.order_by("position", "pk").values_list("pk", "position")[:ROOM_WINDOW])
    low = after.position if after is not None else None
    positions = positions_after(low, [position for pk, position in following], len(following) < ROOM_WINDOW)
    if positions is None:  # a crowd of photos in one place: space them all out again
        renumber(photos)
        if after is not None:
            after.refresh_from_db(fields=["position"])
        return place(photos, photo, after, photo_set_id)
    photos.filter(pk=photo.pk).update(position=positions[0], photo_set_id=photo_set_id)
    # positions_after() moves only as many of the following photos as it must: the rest keep theirs.
    for (pk, _old_position), position in zip(following, positions[1:], strict=False):
        photos.filter(pk=pk).update(position=position)


def arrange(photos, photo_ids):
    """Put the photos `photo_ids` in that order, each in its own set: they trade the positions
    they hold among themselves, so the photos not listed stay where they are."""
    if photos.values("position").distinct().count() < photos.count():  # photos tied by id would not follow
        renumber(photos)
    listed = photos.filter(pk__in=photo_ids)
    listed = list(listed.in_display_order(Sort.MANUAL).only("pk", "photo_set", "position"))
    free = defaultdict(list)
    for photo in listed:
        free[photo.photo_set_id].append(photo.position)
    by_id = {photo.pk: photo for photo in listed}
    for pk in photo_ids:
        by_id[pk].position = free[by_id[pk].photo_set_id].pop(0)
    photos.bulk_update(listed, ["position"], batch_size=1000)


def move_to_set(photos, moving, photo_set):
    """Move the photos `moving` (in order) into `photo_set` (None: no set), after its photos."""
    staying = photos.filter(photo_set=photo_set).exclude(pk__in=[photo.pk for photo in moving])
    last = staying.aggregate(last=Max("position"))["last"] or 0
    for number, photo in enumerate(moving, start=1):
        photo.photo_set, photo.position = photo_set, last + number * GAP
    photos.bulk_update(moving, ["photo_set", "position"], batch_size=1000)
