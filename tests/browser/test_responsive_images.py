"""What a client's browser downloads for the public gallery and what it shows first: WebP sizes
chosen for the screen (half the bytes of the JPEG thumbnails or less on a phone), and every tile
in its photo's colours before its thumbnail arrives (the placeholder), within the CSP.

Camera-sized photos (6000 x 4000, a portrait, a panorama) with a colour of their own each, at a
phone's, a laptop's and a 2560 px screen's size."""

import io
import random

import pytest
import pyvips
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import UserFactory
from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from tests.browser.helpers import wait_for_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# name: (width, height, colour): each photo a colour of its own, with texture a JPEG must spend bytes on.
PHOTOS = {
    "DSC_0001.jpg": (6000, 4000, (214, 120, 40)),
    "DSC_0002.jpg": (4000, 6000, (40, 90, 200)),
    "PANO_0003.jpg": (12000, 3000, (60, 160, 70)),
    "DSC_0004.jpg": (6000, 4000, (150, 40, 120)),
    "DSC_0005.jpg": (6000, 4000, (220, 200, 60)),
    "DSC_0006.jpg": (6000, 4000, (30, 140, 150)),
}
SCREENS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True},
    "laptop": {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 2},
    "2560": {"viewport": {"width": 2560, "height": 1440}},
}
# Lighthouse's phone (a Moto G Power): what "a phone" means for the bytes it downloads.
LIGHTHOUSE_PHONE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75, "is_mobile": True}


def camera_photo(width, height, colour):
    """A JPEG of a camera's size: `colour` under fine noise, like a real scene's detail."""
    rng = random.Random(f"{width}{height}{colour}")
    noise = pyvips.Image.gaussnoise(width // 8, height // 8, mean=0, sigma=24, seed=rng.randrange(1 << 30)).resize(8)
    picture = (noise.bandjoin([noise, noise]) + list(colour)).cast("uchar").copy(interpretation="srgb")
    return picture.jpegsave_buffer(Q=92)


@pytest.fixture(scope="module")
def camera_photos():
    return {name: camera_photo(*spec) for name, spec in PHOTOS.items()}


@pytest.fixture
def camera_gallery(db, camera_photos):
    gallery = GalleryFactory(owner=UserFactory(display_name="Lena Hart"), name="Colours", show_filenames=True)
    photos = [
        store_photo(gallery, SimpleUploadedFile(name, data, "image/jpeg")) for name, data in camera_photos.items()
    ]
    gallery.cover_photo = photos[0]
    gallery.save()
    return ShareLinkFactory(gallery=gallery)


def loaded_images(page):
    """{url: (the file's width, the tile's width in device pixels)} of the tiles' loaded images.
    (An <img> with a srcset reports the width it is laid out at as its naturalWidth: the file's
    own comes from a plain Image of the same URL, from the cache.)"""
    return page.evaluate(
        """async () => Object.fromEntries(await Promise.all([...document.querySelectorAll(".tile picture img")]
             .filter((img) => img.complete && img.naturalWidth)
             .map(async (img) => {
               const file = new Image();
               file.src = img.currentSrc;
               await file.decode();
               return [img.currentSrc, [file.naturalWidth, img.getBoundingClientRect().width * devicePixelRatio]];
             })))"""
    )


@pytest.mark.parametrize("screen", SCREENS)
def test_tiles_and_cover_come_as_webp_sized_for_the_screen(new_context, camera_gallery, screen):
    page = new_context(**SCREENS[screen]).new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(camera_gallery.get_absolute_url())
    wait_for_images(page, ".tile picture img")

    images = loaded_images(page)
    assert len(images) == len(PHOTOS)
    for url, (natural, needed) in images.items():
        assert url.endswith(".webp"), url
        # Never blurry (at most a little smaller than the tile's pixels), never more than one size
        # too big (the sizes step by 2: 320, 640, 1280).
        assert natural >= min(needed * 0.7, 853) and natural <= max(needed * 2.2, 320), (url, natural, needed)
    cover = page.locator(".gallery-cover__image")
    assert cover.evaluate("(img) => img.currentSrc").endswith(".webp")
    assert all(response.status == 200 for response in responses if "/photos/" in response.url)


def test_a_phone_takes_files_near_each_tiles_width_and_half_the_bytes_of_the_jpeg_thumbnails(
    new_context, camera_gallery, client
):
    page = new_context(**LIGHTHOUSE_PHONE).new_page()
    page.goto(camera_gallery.get_absolute_url())
    wait_for_images(page, ".tile picture img")
    # Rows of a landscape and a portrait, two landscapes (188 px wide tiles: 329 device pixels,
    # which took the 480 px file before the 400 px one), a landscape alone, the panorama.
    for url, (natural, needed) in loaded_images(page).items():
        assert needed * 0.95 <= natural <= needed * 1.3, (url, natural, needed)
    sent = page.evaluate(
        """() => performance.getEntriesByType("resource")
             .filter((entry) => entry.initiatorType === "img" && !entry.name.includes("/preview/"))
             .reduce((sum, entry) => sum + entry.encodedBodySize, 0)"""
    )
    tiles = page.evaluate("""() => [...document.querySelectorAll(".tile picture img")].map((img) => img.currentSrc)""")
    cover = page.locator(".gallery-cover__image").evaluate("(img) => img.currentSrc")
    before = 0  # what the page sent before: each tile's 640 px JPEG thumbnail, the cover's 2048 px preview
    for url in tiles:
        before += len(client.get(url.rsplit("/", 1)[0] + "/thumbnail/").getvalue())
    before += len(client.get(cover.rsplit("/", 1)[0] + "/preview/").getvalue())
    assert sent <= before / 2, (sent, before)

    # The cover in the layouts that show it smaller than the window: a file near its width too
    # (each in a browser of its own: one that holds a larger file already takes that one).
    gallery = camera_gallery.gallery
    for layout, largest in (("split", 1.35), ("frame", 1.2)):
        gallery.cover_layout = layout
        gallery.save()
        page = new_context(**LIGHTHOUSE_PHONE).new_page()
        page.goto(camera_gallery.get_absolute_url())
        cover = page.locator(".gallery-cover__image")
        wait_for_images(page, ".gallery-cover__image")
        natural, needed = cover.evaluate(
            """async (img) => {
                 const file = new Image();
                 file.src = img.currentSrc;
                 await file.decode();
                 return [file.naturalWidth, img.getBoundingClientRect().width * devicePixelRatio];
               }"""
        )
        assert needed <= natural <= needed * largest, (layout, natural, needed)


def test_every_tile_shows_its_photos_colours_before_its_thumbnail_arrives(new_context, camera_gallery):
    gallery = camera_gallery.gallery
    gallery.cover_layout = "minimal"  # no cover filling the first screen: every tile on it
    gallery.save()
    page = new_context(viewport={"width": 1440, "height": 2400}).new_page()  # every tile on screen
    held = []
    # Thumbnails and sizes never arrive; the placeholders are data: URLs and need no request.
    page.route("**/photos/**", lambda route: held.append(route))
    page.goto(camera_gallery.get_absolute_url(), wait_until="domcontentloaded")  # "load" waits for the cover
    page.wait_for_function("() => [...document.querySelectorAll('.photo-placeholder')].every((img) => img.complete)")
    assert held, "the thumbnails were asked for and are being held back"

    screenshot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    for name, (_, _, colour) in PHOTOS.items():
        box = page.locator(f'.tile:has([data-name="{name}"])').bounding_box()
        assert box and box["y"] + box["height"] / 2 < 2400, f"{name} should be on the screen"
        centre = screenshot.getpixel((int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)))
        assert all(abs(a - b) <= 40 for a, b in zip(centre, colour, strict=True)), (name, centre, colour)
    for route in held:  # then they arrive, and are painted over the placeholders
        route.continue_()
    assert all(width > 0 for width in wait_for_images(page, ".tile picture img"))


def test_without_a_cover_the_first_screens_tiles_load_at_once_sized_for_the_phone(new_context, camera_gallery):
    gallery = camera_gallery.gallery
    gallery.cover_layout = "minimal"  # the tiles fill the first screen: one of them is its largest paint
    gallery.save()
    page = new_context(**LIGHTHOUSE_PHONE).new_page()
    page.goto(camera_gallery.get_absolute_url())
    wait_for_images(page, ".tile picture img")

    # The stylesheet, inline with the page's nonce (no CSP violation: the watcher fails the test on one).
    assert page.evaluate("() => getComputedStyle(document.querySelector('.justified')).display") == "flex"
    assert page.locator('.tile img[loading="lazy"]').count() == 0  # fewer photos than EAGER_TILES
    images = loaded_images(page)
    assert len(images) == len(PHOTOS)
    for url, (natural, needed) in images.items():  # chosen before layout, from the tile's `sizes`
        assert url.endswith(".webp"), url
        assert natural >= min(needed * 0.7, 853) and natural <= max(needed * 2.2, 320), (url, natural, needed)
