"""Clients that stop reading cannot starve the site: gunicorn with production's gunicorn.conf.py
(one worker, so the numbers are exact; each worker has slots of its own), more stalled ZIP
downloads than it has threads; and the ZIP stream slots through the test client.

A gthread worker's thread waits in sendall() for as long as its client does not read. ZIPs get
VIEWPORT_ZIP_STREAMS slots per worker process (one more is a 503 with Retry-After), so the other
threads keep answering pages; a send that makes no progress for VIEWPORT_SEND_TIMEOUT seconds
gives up, which frees the thread and the slot, and the connection is reset at once (gunicorn would
otherwise close it from its main loop, waiting up to 2 s for a client that says nothing).
"""

import itertools
import re
import runpy
import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from galleries.storage import FileRange
from galleries.tests.factories import GalleryFactory, jpeg_upload, stored_random_photo
from galleries.uploads import store_photo
from sharing import zips
from sharing.models import ZipStream
from sharing.tests.factories import ShareLinkFactory
from testing.appserver import ROOT, AppServer, production_env, running_database_url

SEND_TIMEOUT = 1
# More than a loopback connection buffers for a client that reads nothing (about 2 MB here).
ZIP_BYTES = 6 * 1024 * 1024


def gallery_with_random_photo(size):
    """A shared gallery of one photo of `size` random bytes (the ZIP does not decode it)."""
    gallery = GalleryFactory()
    stored_random_photo(gallery, size)
    return ShareLinkFactory(gallery=gallery)


@pytest.fixture
def big_link(transactional_db):
    link = gallery_with_random_photo(ZIP_BYTES)
    yield link
    default_storage.delete(link.gallery.photos.get().object_key)


@pytest.fixture
def app(big_link, static_root):
    env = production_env(
        DATABASE_URL=running_database_url(),
        VIEWPORT_STATIC_ROOT=str(static_root),
        VIEWPORT_SEND_TIMEOUT=str(SEND_TIMEOUT),
        VIEWPORT_PROXY_COUNT="1",  # clients say which network they are on, as a proxy would
    )
    threads = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"]  # production's count
    server = AppServer(env, workers=1, threads=threads).start()
    yield server
    server.stop()


NETWORKS = itertools.count(1)


def stalled_download(app, path, network=None):
    """A client that asks for `path` and never reads a byte, with a small receive buffer, from
    `network` (an address; by default one of its own)."""
    if network is None:
        number = next(NETWORKS)
        network = f"10.{number // 250}.{number % 250}.1"
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", app.port))
    headers = f"Host: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: {network}\r\n"
    client.sendall(f"GET {path} HTTP/1.1\r\n{headers}\r\n".encode())
    return client


def status_of(client, timeout=5):
    """The answer's status, peeked at so the client still reads nothing; None if there is none."""
    client.settimeout(timeout)
    deadline = time.monotonic() + timeout
    head = b""
    while len(head) < 12 and time.monotonic() < deadline:
        try:
            head = client.recv(12, socket.MSG_PEEK)
        except TimeoutError:
            return None
        if len(head) < 12:
            time.sleep(0.01)
    return int(head[9:12]) if len(head) >= 12 else None


def read_all(client, timeout=10):
    """Everything until the server closes the connection."""
    client.settimeout(timeout)
    answer = b""
    try:
        while data := client.recv(65536):
            answer += data
    except ConnectionResetError:
        pass
    return answer


def read_answer(client, timeout=5):
    """One whole answer (head and Content-Length bytes of body) from a kept-alive connection."""
    client.settimeout(timeout)
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += client.recv(65536)
    head, body = answer.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"\r\nContent-Length: (\d+)", head).group(1))
    while len(body) < length:
        body += client.recv(65536)
    return head, body


def stall_zip_downloads(app, path, count):
    """`count` stalled downloads of `path`; returns those streaming. The others must be 503s
    with Retry-After (they are read and closed)."""
    clients = [stalled_download(app, path) for _ in range(count)]
    statuses = [status_of(client) for client in clients]
    assert set(statuses) <= {200, 503}, statuses  # None: no thread was left to answer
    for client, status in zip(clients, statuses, strict=False):
        if status == 503:
            head, body = read_answer(client)
            assert b"\r\nRetry-After: 30\r\n" in head and b"try again" in body
            client.close()
    return [client for client, status in zip(clients, statuses, strict=False) if status == 200]


def stall_until_streaming(app, path, count, streams, seconds=5):
    """Stalled downloads until at least `streams` of them stream: a slot comes back when its
    stream next tries to send. Those that stream are returned."""
    deadline = time.monotonic() + seconds
    while len(streaming := stall_zip_downloads(app, path, count)) < streams and time.monotonic() < deadline:
        for client in streaming:
            client.close()
        time.sleep(0.5)
    return streaming


def assert_pages_answer_at_once(app):
    for path in ("/accounts/login/", "/healthz/"):
        started = time.monotonic()
        status, _, _ = app.get(path, timeout=5)
        assert status == 200 and time.monotonic() - started < 2, (path, status, time.monotonic() - started)


@pytest.mark.load
def test_clients_that_stop_reading_zips_cannot_starve_the_site(app, big_link):
    threads = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"]
    slots = threads // 2  # VIEWPORT_ZIP_STREAMS' default
    path = reverse("sharing:zip_download", args=[big_link.pk])

    streaming = stall_zip_downloads(app, path, threads + 2)
    assert len(streaming) == slots
    time.sleep(0.5)  # the streams fill the socket buffers and block
    assert_pages_answer_at_once(app)

    # The stalled sends give up after the send timeout: the connections are reset, and their
    # threads and slots are free again.
    time.sleep(SEND_TIMEOUT + 0.5)
    assert_pages_answer_at_once(app)
    for client in streaming:
        # Cut, never finished (the reset may come a little late to a thread starved of CPU).
        assert len(read_all(client, timeout=5)) < ZIP_BYTES
        client.close()
    streaming = stall_zip_downloads(app, path, threads + 2)
    assert len(streaming) == slots

    # Clients that hang up free theirs too (when their stream next sends).
    time.sleep(0.5)
    for client in streaming:
        client.close()
    streaming = stall_until_streaming(app, path, threads + 2, slots)
    assert len(streaming) == slots
    for client in streaming:
        client.close()


@pytest.mark.load
def test_one_network_streams_two_zips_at_once_and_others_still_get_theirs(app, big_link):
    path = reverse("sharing:zip_download", args=[big_link.pk])
    ours = []
    for _ in range(3):  # one after another: requests at the very same moment may all be refused
        ours.append(stalled_download(app, path, network="192.0.2.7"))
        status_of(ours[-1])
    assert [status_of(client) for client in ours] == [200, 200, 429]
    head, body = read_answer(ours[-1])
    assert b"\r\nRetry-After: 30\r\n" in head and b"already downloading 2 archives" in body
    neighbour = stalled_download(app, path, network="198.51.100.9")
    assert status_of(neighbour) == 200  # another network is not held up
    for client in [*ours, neighbour]:
        client.close()
    # Once its streams are over, the network downloads again (a stream ends when it next sends).
    deadline = time.monotonic() + 5
    while (status := status_of(again := stalled_download(app, path, network="192.0.2.7"))) != 200:
        again.close()
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    again.close()


# The slots through the test client, one per process here. A streamed answer holds its slot until
# it is closed: the test client closes it once the body has been read to the end.


@pytest.fixture
def one_slot(settings):
    settings.VIEWPORT_ZIP_STREAMS = 1


@pytest.fixture
def link(db):
    gallery = GalleryFactory()
    store_photo(gallery, jpeg_upload(width=200, height=150))
    return ShareLinkFactory(gallery=gallery)


def zip_url(link):
    return reverse("sharing:zip_download", args=[link.pk])


def test_a_zip_download_while_every_slot_streams_is_a_503_with_retry_after(client, one_slot, link):
    streaming = client.get(zip_url(link))
    assert streaming.status_code == 200
    busy = client.get(zip_url(link))
    assert busy.status_code == 503
    assert busy["Retry-After"] == "30"
    assert "try again in a minute" in busy.text
    assert busy["X-Robots-Tag"] == "noindex, nofollow"  # a share page like the others
    link.refresh_from_db()
    assert link.zip_downloads == 1

    b"".join(streaming.streaming_content)
    assert client.get(zip_url(link)).status_code == 200


def test_a_zip_stream_that_fails_gives_its_slot_back(client, one_slot, link):
    photo = link.gallery.photos.get()
    with default_storage.open(photo.object_key, "rb") as file:
        original = file.read()
    default_storage.delete(photo.object_key)
    with pytest.raises(Exception):  # noqa: B017 (FileNotFoundError locally, botocore's NoSuchKey on S3)
        b"".join(client.get(zip_url(link)).streaming_content)
    default_storage.save(photo.object_key, ContentFile(original))
    assert client.get(zip_url(link)).status_code == 200


def test_an_expired_or_unknown_link_gives_the_slot_back_at_once(client, one_slot, link):
    expired = ShareLinkFactory(gallery=link.gallery, expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(zip_url(expired)).status_code == 410
    assert client.get(f"/s/{uuid.uuid4()}/zip/").status_code == 404
    assert client.get(zip_url(link)).status_code == 200


def test_a_zip_is_sent_in_pieces_small_enough_for_the_send_timeout(client, db):
    link = gallery_with_random_photo(3 * zips.PIECE_SIZE)
    pieces = list(client.get(zip_url(link)).streaming_content)
    assert max(len(piece) for piece in pieces) <= zips.PIECE_SIZE
    assert sum(len(piece) for piece in pieces) > 3 * zips.PIECE_SIZE


def test_a_full_pool_cuts_its_oldest_stream_for_a_newcomer(client, one_slot, link, settings):
    oldest = client.get(zip_url(link))
    assert oldest.status_code == 200
    assert client.get(zip_url(link), REMOTE_ADDR="192.0.2.1").status_code == 503  # it is too young to cut
    settings.VIEWPORT_ZIP_STREAM_CUT_AFTER = 0
    newcomer = client.get(zip_url(link), REMOTE_ADDR="192.0.2.1")
    assert newcomer.status_code == 200
    with pytest.raises(zips.DownloadRefused):  # the oldest ends at its next piece; it may resume
        b"".join(oldest.streaming_content)
    assert ZipStream.objects.filter(network="127.0.0.1").count() == 0  # its network's count too
    assert b"".join(newcomer.streaming_content)[:4] == b"PK\3\4"


def test_neighbouring_networks_share_a_wider_limit(client, link, settings):
    settings.VIEWPORT_ZIP_STREAMS, settings.VIEWPORT_ZIP_STREAMS_PER_WIDE_NETWORK = 16, 3
    for neighbours, neighbour, stranger in [
        (["192.0.2.1", "192.0.2.1", "192.0.2.200"], "192.0.2.7", "192.0.3.1"),  # a /24
        (["2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:100::1"], "2001:db8:1:700::1", "2001:db8:2::1"),  # a /48
    ]:
        streaming = [client.get(zip_url(link), REMOTE_ADDR=address) for address in neighbours]
        assert [response.status_code for response in streaming] == [200, 200, 200]
        refused = client.get(zip_url(link), REMOTE_ADDR=neighbour)
        assert refused.status_code == 429 and refused["Retry-After"] == "30", neighbours
        other = client.get(zip_url(link), REMOTE_ADDR=stranger)
        assert other.status_code == 200
        for response in [*streaming, other]:
            b"".join(response.streaming_content)


def test_a_slow_reader_that_keeps_reading_gets_the_whole_file(tmp_path):
    """The send timeout measures progress: 1 MiB in pieces of 256 KiB, each taking longer than
    the timeout at this client's pace, all arrive; a client that stops reading is cut off."""
    data = bytes(range(256)) * 4096
    (tmp_path / "photo").write_bytes(data)
    for reader_stops in (False, True):
        server, client = socket.socketpair()
        server.settimeout(0.5)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        received = bytearray()

        def read_slowly(client=client, received=received, reader_stops=reader_stops):
            while len(received) < len(data) and not (reader_stops and len(received) > 100_000):
                if not (chunk := client.recv(32768)):
                    break
                received.extend(chunk)
                time.sleep(0.1)  # about 300 KB/s: a 256 KiB piece takes most of a second

        reader = threading.Thread(target=read_slowly, daemon=True)
        reader.start()
        try:
            with open(tmp_path / "photo", "rb") as file:
                if reader_stops:
                    with pytest.raises(TimeoutError):
                        FileRange(file, 0, len(data)).send(server, zips.PIECE_SIZE)
                else:
                    FileRange(file, 0, len(data)).send(server, zips.PIECE_SIZE)
        finally:
            server.close()
            reader.join()
            client.close()
        assert (bytes(received) == data) is not reader_stops
