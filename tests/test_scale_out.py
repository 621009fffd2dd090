"""Several of everything on one PostgreSQL and one S3 bucket: two gunicorn servers behind a
round-robin proxy (testing/proxy.py, standing in for Caddy), two task workers and two schedulers.
A photographer and a client go through it with requests landing on both servers, and nothing is
lost or doubled: sessions, unlock cookies, login throttling, counters, mail, periodic tasks."""

import http.client
import io
import json
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
from crontask import scheduler as crontask_scheduler
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from urllib3 import encode_multipart_formdata

from favourites.models import FavouriteDay
from galleries.models import Gallery, PeriodicTask, Photo
from galleries.tasks import queue_once
from sharing.models import LinkDay, ShareLink
from testing.appserver import AppServer, production_env, running_database_url
from testing.http import get
from testing.photos import image_bytes
from testing.proxy import RoundRobinProxy
from testing.services import wait_until
from testing.worker import scheduler, task_worker
from tests.test_metrics import TOKEN, scrape, value

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-test-passphrase-42"
LINK_PASSWORD = "garden-party"
RETRY_SECONDS = 1


class Browser:
    """One person's browser at loopback address `address`, going through the proxy: its cookies
    (Secure ones too: the proxy speaks https for it) and Django's CSRF token."""

    def __init__(self, proxy, address):
        self.proxy = proxy
        self.address = address
        self.cookies = {}

    def request(self, method, path, *, on=None, form=None, files=None, data=None, json_answer=False):
        """(status, headers, body) of one request; `on` sends it to that server (0 or 1)."""
        if on is not None:
            self.proxy.turn_to(on)
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        if json_answer:
            headers["Accept"] = "application/json"
        body = None
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Referer"] = f"https://127.0.0.1:{self.proxy.port}{path}"
            if files is not None:
                body, headers["Content-Type"] = encode_multipart_formdata([*(form or {}).items(), *files])
            elif data is not None:
                body, headers["Content-Type"] = json.dumps(data), "application/json"
            else:
                body, headers["Content-Type"] = urlencode(form or {}), "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.proxy.port, timeout=30, source_address=(self.address, 0)
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, cookie_value = cookie.split(";")[0].partition("=")
            self.cookies[name.strip()] = cookie_value
        return response.status, response.headers, content

    def log_in(self, email, password, on):
        self.request("GET", reverse("accounts:login"), on=on)
        return self.request("POST", reverse("accounts:login"), form={"email": email, "password": password}, on=on)[0]


@pytest.fixture
def site(static_root):
    """Two app servers, two workers and two schedulers on the test's database and the session's
    bucket, and the proxy in front of the servers."""
    env = production_env(
        DATABASE_URL=running_database_url(),
        VIEWPORT_STATIC_ROOT=str(static_root),
        VIEWPORT_PROXY_COUNT="1",
        VIEWPORT_METRICS_TOKEN=TOKEN,
        VIEWPORT_STORAGE_RETRY_SECONDS=str(RETRY_SECONDS),
    )
    processes = [task_worker(env), task_worker(env), scheduler(env), scheduler(env)]
    servers = [AppServer(env, workers=1, threads=4) for _ in range(2)]
    # Started and stopped side by side: each is a Django process that takes a second or two. The
    # servers first, as they have to answer within AppServer's start-up time on a busy machine.
    with ThreadPoolExecutor(len(processes) + len(servers)) as pool:
        try:
            list(pool.map(lambda process: process.start(), servers))
            started = timezone.now()
            list(pool.map(lambda process: process.start(), processes))
            proxy = RoundRobinProxy([server.port for server in servers]).start()
            yield proxy, servers, started
            proxy.stop()
        finally:
            list(pool.map(lambda process: process.stop(), [*processes, *servers]))


def test_a_photographer_and_a_client_across_two_servers_lose_and_double_nothing(site, smtp_mailbox):
    proxy, servers, schedulers_started = site

    # The photographer signs up, then logs in on one server and uploads through the other.
    photographer = Browser(proxy, "127.0.0.2")
    photographer.request("GET", reverse("accounts:signup"))
    signup = {"email": "lena@example.com", "display_name": "Lena Hart", "password1": PASSWORD, "password2": PASSWORD}
    assert photographer.request("POST", reverse("accounts:signup"), form=signup)[0] == 302
    # The address is confirmed through the link mailed to it: until then nothing goes out in its name.
    [confirmation] = smtp_mailbox.wait_for(1, timeout=60)
    text = confirmation.get_body(("plain",)).get_content()
    assert (
        photographer.request("GET", re.search(r"https?://\S+?(/accounts/confirm-email/\S+/)", text).group(1))[0] == 302
    )
    smtp_mailbox.clear()
    photographer.cookies.pop("sessionid")
    assert photographer.log_in("lena@example.com", PASSWORD, on=0) == 302
    assert proxy.served[-1] == ("POST", reverse("accounts:login"), 0)
    assert photographer.request("POST", reverse("galleries:gallery_list"), form={"name": "Garden"})[0] == 302
    gallery = Gallery.objects.get()
    originals = {f"IMG_{n}.jpg": image_bytes(400 + n * 40, 300, color=(n * 60, 90, 140)) for n in range(3)}
    files = [("photos", (name, content, "image/jpeg")) for name, content in originals.items()]
    status, _, body = photographer.request(
        "POST", reverse("galleries:photo_upload", args=[gallery.pk]), files=files, json_answer=True, on=1
    )
    assert status == 200 and proxy.served[-1][2] == 1, body  # the session of server 0, on server 1
    assert [photo["file_name"] for photo in json.loads(body)["photos"]] == list(originals)

    status, _, body = photographer.request(
        "POST",
        reverse("sharing:share_link_create", args=[gallery.pk]),
        data={"password": LINK_PASSWORD, "favourites": True},
        json_answer=True,
    )
    assert status == 201, body
    link = ShareLink.objects.get()
    status, _, _ = photographer.request(
        "POST",
        reverse("sharing:share_link_send", args=[link.pk]),
        data={"emails": "anna@example.com, ben@example.com"},
        json_answer=True,
    )
    assert status == 202

    # The client unlocks the link on one server and is let in by the other.
    client = Browser(proxy, "127.0.0.3")
    page = reverse("sharing:public_gallery", args=[link.pk])
    assert client.request("GET", page, on=0)[0] == 401
    status, _, _ = client.request("POST", reverse("sharing:unlock", args=[link.pk]), form={"password": LINK_PASSWORD})
    assert status == 302 and proxy.served[-1][2] == 1
    assert client.request("GET", page, on=0)[0] == 200
    photo = Photo.objects.get(original_filename="IMG_1.jpg")
    status, _, body = client.request(
        "POST",
        reverse("favourites:favourite_list", args=[link.pk]),
        form={"name": "Anna"},
        json_answer=True,
        on=1,
    )
    assert status == 201, body
    status, _, body = client.request(
        "POST", reverse("favourites:favourite_add", args=[link.pk, photo.pk]), json_answer=True, on=0
    )
    assert status == 200 and json.loads(body)["count"] == 1, body
    status, headers, _ = client.request("GET", reverse("sharing:photo_download", args=[link.pk, photo.pk]), on=0)
    assert status == 302 and get(headers["Location"])[2] == originals["IMG_1.jpg"]
    status, _, archive = client.request("GET", reverse("sharing:zip_download", args=[link.pk]), on=1)
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        assert {name: zipped.read(name) for name in zipped.namelist()} == originals

    # Five wrong passwords, spread over both servers, lock the account from anywhere.
    attacker = Browser(proxy, "127.0.0.4")
    statuses = [attacker.log_in("lena@example.com", f"guess-{n}", on=n % 2) for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert {index for method, path, index in proxy.served[-10:] if method == "POST"} == {0, 1}
    for server in (0, 1):
        assert Browser(proxy, "127.0.0.5").log_in("lena@example.com", PASSWORD, on=server) == 429

    # Counters are exact, whichever server counted.
    link.refresh_from_db()
    assert (link.views, link.single_downloads, link.zip_downloads) == (1, 1, 1)
    [day] = LinkDay.objects.filter(link=link)
    assert (day.views, day.unique_visitors, day.single_downloads, day.zip_downloads) == (1, 1, 1, 1)
    assert FavouriteDay.objects.get(link=link).favourites == 1
    scrapes = [
        scrape(get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[2])[0] for server in servers
    ]
    uploaded = sum(value(samples, "viewport_uploaded_bytes_total") for samples in scrapes)
    assert uploaded == sum(len(content) for content in originals.values())
    assert sum(value(samples, "viewport_zip_streamed_bytes_total") for samples in scrapes) == len(archive)

    # Two workers deliver each mail once; two schedulers queue each run of a periodic task once.
    sending = DBTaskResult.objects.filter(task_path="sharing.tasks.send_invitation")
    wait_until(lambda: sending.filter(status="SUCCESSFUL").count() == 2, "both invitations to be sent", timeout=20)
    assert sorted(message["To"] for message in smtp_mailbox.messages()) == ["anna@example.com", "ben@example.com"]
    wait_until(lambda: retries().count() >= 3, "three runs of the periodic retry", timeout=20)
    # Two schedulers each fire once a second: one queued run a second, not two.
    runs = retries().count()
    assert 3 <= runs <= (timezone.now() - schedulers_started).total_seconds() / RETRY_SECONDS + 1
    wait_until(lambda: not retries().exclude(status="SUCCESSFUL").exists(), "the runs to finish", timeout=20)


def retries():
    return DBTaskResult.objects.filter(task_path="galleries.tasks.retry_storage_deletes")


def test_schedulers_firing_together_queue_each_periodic_task_once(settings):
    """Every periodic task, as two schedulers run it at the same moment (each thread has its own
    database connection, as each scheduler process has)."""
    settings.TASKS = {"default": {"BACKEND": settings.TASK_BACKENDS["database"]}}
    jobs = crontask_scheduler.get_jobs()
    assert {job.name for job in jobs} >= {"retry_storage_deletes", "send_daily_digests", "prune_task_results"}
    for job in jobs:
        assert job.func is queue_once
        start = threading.Barrier(2)
        claimed = []

        def fire(job=job, start=start, claimed=claimed):
            start.wait()
            try:
                claimed.append(job.func(*job.args))
            finally:
                connection.close()

        threads = [threading.Thread(target=fire) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        task = job.args[0]
        assert sorted(claimed) == [False, True], job.name
        assert DBTaskResult.objects.filter(task_path=task.module_path).count() == 1, job.name
        assert PeriodicTask.objects.get(task_path=task.module_path).next_run_at > timezone.now()
