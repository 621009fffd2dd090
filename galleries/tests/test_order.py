"""The order of a gallery's photos: every sort, sets first, keyset neighbours, manual order."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from galleries import ordering
from galleries.models import Gallery, Photo, PhotoSet
from galleries.ordering import Sort
from galleries.tests.factories import GalleryFactory, PhotoFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def names(photos):
    return [photo.original_filename for photo in photos]


def shown(gallery):
    gallery.refresh_from_db()
    return names(gallery.ordered_photos())


@pytest.fixture
def mixed(gallery):
    """Four photos whose name, capture and upload orders all differ; one has no capture time."""
    for name, captured, uploaded in [
        ("IMG_10.jpg", T0 + timedelta(minutes=1), 3),
        ("IMG_2.jpg", None, 1),
        ("DSC_0005.jpg", T0, 4),
        ("IMG_1.jpg", T0 + timedelta(minutes=2), 2),
    ]:
        PhotoFactory(
            gallery=gallery, original_filename=name, captured_at=captured, uploaded_at=T0 + timedelta(hours=uploaded)
        )
    return gallery


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("capture_time", ["DSC_0005.jpg", "IMG_10.jpg", "IMG_1.jpg", "IMG_2.jpg"]),
        ("name", ["DSC_0005.jpg", "IMG_1.jpg", "IMG_2.jpg", "IMG_10.jpg"]),
        ("uploaded", ["IMG_2.jpg", "IMG_1.jpg", "IMG_10.jpg", "DSC_0005.jpg"]),
    ],
)
def test_each_sort_orders_the_gallery_and_its_pages(client, mixed, sort, expected):
    response = client.post(
        reverse("galleries:gallery_sort", args=[mixed.pk]), {"sort": sort}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200 and response.json() == {"sort": sort}
    assert shown(mixed) == expected
    assert names(client.get(mixed.get_absolute_url()).context["page"].object_list) == expected


def test_new_galleries_sort_by_capture_time_and_photos_without_one_come_last_by_name(gallery):
    assert gallery.sort == Sort.CAPTURE_TIME
    PhotoFactory(gallery=gallery, original_filename="IMG_10.jpg")
    PhotoFactory(gallery=gallery, original_filename="IMG_9.jpg")
    PhotoFactory(gallery=gallery, original_filename="ZZZ.jpg", captured_at=T0 + timedelta(days=300))
    PhotoFactory(gallery=gallery, original_filename="AAA.jpg", captured_at=T0)
    assert shown(gallery) == ["AAA.jpg", "ZZZ.jpg", "IMG_9.jpg", "IMG_10.jpg"]


def test_photos_taken_at_the_same_moment_follow_their_file_names(gallery):
    for name in ["b.jpg", "a.jpg", "c.jpg"]:
        PhotoFactory(gallery=gallery, original_filename=name, captured_at=T0)
    assert shown(gallery) == ["a.jpg", "b.jpg", "c.jpg"]


def test_sets_come_in_their_order_after_the_photos_of_no_set(gallery):
    party = PhotoSet.objects.create(gallery=gallery, name="Party")
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    PhotoSet.objects.renumber([ceremony, party])
    PhotoFactory(gallery=gallery, original_filename="1.jpg", captured_at=T0, photo_set=party)
    PhotoFactory(gallery=gallery, original_filename="2.jpg", captured_at=T0 + timedelta(minutes=1), photo_set=ceremony)
    PhotoFactory(gallery=gallery, original_filename="3.jpg", captured_at=T0 + timedelta(minutes=2))
    PhotoFactory(gallery=gallery, original_filename="4.jpg", captured_at=T0 + timedelta(minutes=3), photo_set=ceremony)
    assert shown(gallery) == ["3.jpg", "2.jpg", "4.jpg", "1.jpg"]


@pytest.mark.parametrize("sort", list(Sort))
def test_keyset_neighbours_walk_the_whole_order_for_every_sort(gallery, sort):
    """before() and after() agree with the list, whatever ties and empty keys there are."""
    first, second = (PhotoSet.objects.create(gallery=gallery, name=name) for name in ("First", "Second"))
    for n in range(12):
        PhotoFactory(
            gallery=gallery,
            original_filename=f"IMG_{n % 5}.jpg",
            object_key=f"{gallery.pk}/{n}",
            photo_set=[None, first, second][n % 3],
            captured_at=None if n % 4 == 0 else T0 + timedelta(minutes=n % 3),
            uploaded_at=T0 + timedelta(hours=n % 2),
            position=n % 3,
        )
    Gallery.objects.filter(pk=gallery.pk).update(sort=sort)
    gallery.refresh_from_db()
    photos = gallery.ordered_photos()
    order = list(photos)
    assert len({photo.pk for photo in order}) == 12
    for index, photo in enumerate(order):
        assert list(photos.after(photo)) == order[index + 1 :]
        assert list(photos.before(photo)) == order[:index][::-1]


def test_the_dashboard_cover_is_the_first_photo_in_each_gallerys_own_order(client, gallery):
    PhotoFactory(gallery=gallery, original_filename="a.jpg", captured_at=T0 + timedelta(hours=1))
    earliest = PhotoFactory(gallery=gallery, original_filename="b.jpg", captured_at=T0)
    by_name = GalleryFactory(owner=gallery.owner, sort=Sort.NAME)
    first_by_name = PhotoFactory(gallery=by_name, original_filename="a.jpg", captured_at=T0 + timedelta(hours=1))
    PhotoFactory(gallery=by_name, original_filename="b.jpg", captured_at=T0)
    covers = {g.pk: g.cover_id for g in client.get(reverse("galleries:gallery_list")).context["page"]}
    assert covers == {gallery.pk: earliest.pk, by_name.pk: first_by_name.pk}


# Manual order


def order_url(gallery):
    return reverse("galleries:photo_order", args=[gallery.pk])


def post_json(client, url, data):
    return client.post(url, data, content_type="application/json", headers={"Accept": "application/json"})


def test_photo_ids_in_order_switch_the_gallery_to_manual_order(client, mixed):
    wanted = ["IMG_1.jpg", "DSC_0005.jpg", "IMG_2.jpg", "IMG_10.jpg"]
    ids = [str(mixed.photos.get(original_filename=name).pk) for name in wanted]
    response = post_json(client, order_url(mixed), {"photo_ids": ids})
    assert response.status_code == 200 and response.json()["sort"] == "manual"
    assert shown(mixed) == wanted
    assert mixed.sort == Sort.MANUAL


def test_some_photo_ids_trade_places_among_themselves(client, gallery):
    photos = [PhotoFactory(gallery=gallery, original_filename=f"{n}.jpg") for n in range(5)]
    client.post(order_url(gallery), {"photo_ids": [str(photos[3].pk), str(photos[1].pk)]})
    assert shown(gallery) == ["0.jpg", "3.jpg", "2.jpg", "1.jpg", "4.jpg"]


def test_one_photo_goes_after_another_and_manual_order_starts_from_the_order_shown(client, mixed):
    photo = mixed.photos.get(original_filename="DSC_0005.jpg")
    after = mixed.photos.get(original_filename="IMG_1.jpg")
    response = post_json(client, order_url(mixed), {"photo_id": str(photo.pk), "after_id": str(after.pk)})
    assert response.status_code == 200
    assert shown(mixed) == ["IMG_10.jpg", "IMG_1.jpg", "DSC_0005.jpg", "IMG_2.jpg"]  # was by capture time
    post_json(client, order_url(mixed), {"photo_id": str(after.pk), "after_id": None})
    assert shown(mixed) == ["IMG_1.jpg", "IMG_10.jpg", "DSC_0005.jpg", "IMG_2.jpg"]


def test_a_photo_moves_to_a_position_in_its_set_by_a_form_without_javascript(client, gallery):
    photos = [PhotoFactory(gallery=gallery, original_filename=f"{n}.jpg") for n in range(4)]
    # The tile's form: its number field, then the "later" button's own position (read last).
    response = client.post(order_url(gallery), {"photo_id": str(photos[0].pk), "position": ["1", "2"]})
    assert response.status_code == 302 and response.url == gallery.get_absolute_url()
    assert shown(gallery) == ["1.jpg", "0.jpg", "2.jpg", "3.jpg"]
    client.post(order_url(gallery), {"photo_id": str(photos[0].pk), "position": "99"})
    assert shown(gallery) == ["1.jpg", "2.jpg", "3.jpg", "0.jpg"]
    client.post(order_url(gallery), {"photo_id": str(photos[3].pk), "position": "1"})
    assert shown(gallery) == ["3.jpg", "1.jpg", "2.jpg", "0.jpg"]


def test_after_a_photo_of_another_set_the_photo_joins_that_set(client, gallery):
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    loose = PhotoFactory(gallery=gallery, original_filename="loose.jpg")
    vows = PhotoFactory(gallery=gallery, original_filename="1 vows.jpg", photo_set=ceremony)
    PhotoFactory(gallery=gallery, original_filename="2 rings.jpg", photo_set=ceremony)
    client.post(order_url(gallery), {"photo_id": str(loose.pk), "after_id": str(vows.pk)})
    assert shown(gallery) == ["1 vows.jpg", "loose.jpg", "2 rings.jpg"]
    loose.refresh_from_db()
    assert loose.photo_set == ceremony
    client.post(order_url(gallery), {"photo_id": str(loose.pk), "set_id": "", "position": "1"})
    loose.refresh_from_db()
    assert loose.photo_set is None


def rewritten_rows(gallery):
    """How many of the gallery's photo rows were written since most of them were inserted: each
    write inside a savepoint (every change is one) stamps its rows with its own xmin."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM photos WHERE gallery_id = %s GROUP BY xmin::text ORDER BY 1 DESC", [gallery.pk]
        )
        counts = [count for (count,) in cursor.fetchall()]
    return sum(counts[1:])


def test_one_move_in_a_manual_gallery_of_2000_photos_changes_one_row(client, gallery):
    Gallery.objects.filter(pk=gallery.pk).update(sort=Sort.MANUAL)
    Photo.objects.bulk_create(
        Photo(
            gallery=gallery,
            original_filename=f"{n:04d}.jpg",
            object_key=f"k{n}",
            thumbnail_object_key=f"t{n}",
            file_size=1,
            position=n * ordering.GAP,
        )
        for n in range(2000)
    )
    photos = list(gallery.ordered_photos())
    with CaptureQueriesContext(connection) as queries:
        client.post(order_url(gallery), {"photo_id": str(photos[1500].pk), "after_id": str(photos[3].pk)})
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "photos"')]
    assert len(updates) == 1 and rewritten_rows(gallery) == 1
    gallery.refresh_from_db()
    order = list(gallery.ordered_photos())
    assert order[4] == photos[1500] and order[5] == photos[4] and len(order) == 2000


def test_repeated_moves_into_one_gap_renumber_only_a_few_photos(gallery):
    Gallery.objects.filter(pk=gallery.pk).update(sort=Sort.MANUAL)
    photos = [
        PhotoFactory(gallery=gallery, original_filename=f"{n:02d}.jpg", position=n * ordering.GAP) for n in range(30)
    ]
    # 30 moves right after photo 0, each into the gap the previous one halved.
    for photo in photos[:0:-1]:
        ordering.place(gallery.photos, photo, after=gallery.photos.get(pk=photos[0].pk))
    assert names(gallery.ordered_photos()) == ["00.jpg", *(f"{n:02d}.jpg" for n in range(1, 30))]
    positions = [photo.position for photo in gallery.ordered_photos()]
    assert positions == sorted(set(positions))


def test_a_move_into_a_used_up_gap_renumbers_the_next_few_photos_not_the_gallery(client, gallery):
    Gallery.objects.filter(pk=gallery.pk).update(sort=Sort.MANUAL)
    packed = [0, 1, 2, 3, 100, *range(200, 200 + 60 * ordering.GAP, ordering.GAP)]
    Photo.objects.bulk_create(
        Photo(
            gallery=gallery,
            original_filename=f"{n:02d}.jpg",
            object_key=f"k{n}",
            thumbnail_object_key=f"t{n}",
            file_size=1,
            position=position,
        )
        for n, position in enumerate(packed)
    )
    last = gallery.photos.get(original_filename=f"{len(packed) - 1:02d}.jpg")
    client.post(order_url(gallery), {"photo_id": str(last.pk), "after_id": str(gallery.photos.get(position=0).pk)})
    assert rewritten_rows(gallery) == 4  # the photo, and the three packed after the gap it took
    gallery.refresh_from_db()
    assert names(gallery.ordered_photos())[:6] == [
        "00.jpg",
        f"{len(packed) - 1:02d}.jpg",
        "01.jpg",
        "02.jpg",
        "03.jpg",
        "04.jpg",
    ]


def test_positions_after_makes_room_by_moving_the_fewest_next_photos():
    assert ordering.positions_after(10, [20], complete=True) == [15]
    assert ordering.positions_after(10, [11, 12, 40], complete=True) == [17, 24, 31]  # 11 and 12 move
    assert ordering.positions_after(10, [11], complete=True) == [10 + ordering.GAP, 10 + 2 * ordering.GAP]
    assert ordering.positions_after(10, [11], complete=False) is None
    assert ordering.positions_after(None, [5], complete=True) == [5 - ordering.GAP]
    assert ordering.positions_after(10, [], complete=True) == [10 + ordering.GAP]


def test_switching_to_manual_keeps_the_order_shown_and_back_sorts_again(client, mixed):
    before = shown(mixed)
    client.post(reverse("galleries:gallery_sort", args=[mixed.pk]), {"sort": "manual"})
    assert shown(mixed) == before and mixed.sort == Sort.MANUAL
    client.post(reverse("galleries:gallery_sort", args=[mixed.pk]), {"sort": "name"})
    assert shown(mixed) == ["DSC_0005.jpg", "IMG_1.jpg", "IMG_2.jpg", "IMG_10.jpg"]


def test_photos_uploaded_into_a_manual_gallery_come_last(gallery):
    first = PhotoFactory(gallery=gallery, original_filename="z.jpg")
    gallery.change_sort(Sort.MANUAL)
    PhotoFactory(gallery=gallery, original_filename="a.jpg")
    assert shown(gallery) == ["z.jpg", "a.jpg"] and first


@pytest.mark.parametrize(
    "data, field",
    [
        ({"sort": "random"}, "sort"),
        ({}, "sort"),
    ],
)
def test_a_wrong_sort_is_a_400_with_its_field_and_changes_nothing(client, gallery, data, field):
    response = post_json(client, reverse("galleries:gallery_sort", args=[gallery.pk]), data)
    assert response.status_code == 400 and field in response.json()["fields"]
    gallery.refresh_from_db()
    assert gallery.sort == Sort.CAPTURE_TIME


def test_wrong_orders_are_400s_with_their_fields_and_change_nothing(client, gallery):
    photos = [PhotoFactory(gallery=gallery, original_filename=f"{n}.jpg") for n in range(2)]
    foreign = PhotoFactory()
    cases = [
        ({"photo_ids": [str(photos[1].pk), str(foreign.pk)]}, "photo_ids"),
        ({"photo_ids": [str(photos[1].pk), str(photos[1].pk)]}, "photo_ids"),
        ({"photo_ids": ["not-an-id"]}, "photo_ids"),
        ({"photo_id": str(foreign.pk), "after_id": str(photos[0].pk)}, "photo_id"),
        ({"photo_id": str(photos[0].pk), "after_id": str(foreign.pk)}, "after_id"),
        ({"photo_id": str(photos[0].pk), "after_id": str(photos[0].pk)}, "after_id"),
        ({"photo_id": str(photos[0].pk), "position": "0"}, "position"),
        ({"photo_id": str(photos[0].pk), "position": str(10**30)}, "position"),
        ({"photo_id": str(photos[0].pk), "set_id": "00000000-0000-4000-8000-000000000000"}, "set_id"),
        ({}, "__all__"),
    ]
    for data, field in cases:
        response = post_json(client, order_url(gallery), data)
        assert response.status_code == 400, data
        assert field in response.json()["fields"], (data, response.json())
    malformed = client.post(
        order_url(gallery), "{not json", content_type="application/json", headers={"Accept": "application/json"}
    )
    assert malformed.status_code == 400
    without_javascript = client.post(order_url(gallery), {"photo_id": str(foreign.pk)})
    assert without_javascript.status_code == 400 and "That photo is not in this gallery." in without_javascript.text
    assert shown(gallery) == ["0.jpg", "1.jpg"] and gallery.sort == Sort.CAPTURE_TIME


def test_order_controls_on_the_gallery_page_count_within_each_set(client, gallery):
    ceremony = PhotoSet.objects.create(gallery=gallery, name="Ceremony")
    PhotoFactory(gallery=gallery, original_filename="a.jpg")
    PhotoFactory(gallery=gallery, original_filename="b.jpg", photo_set=ceremony)
    PhotoFactory(gallery=gallery, original_filename="c.jpg", photo_set=ceremony)
    page = client.get(gallery.get_absolute_url()).context["page"]
    assert [(p.original_filename, p.number, p.section_size, p.opens_set) for p in page.object_list] == [
        ("a.jpg", 1, 1, None),
        ("b.jpg", 1, 2, ceremony),
        ("c.jpg", 2, 2, None),
    ]
