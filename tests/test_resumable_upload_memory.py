"""A 200 MB file through a resumable upload keeps the app server's memory flat, under gunicorn as
in production, on local storage, where every part passes through the app (on S3 the parts go to
the bucket and the app reads the file only to check its SHA-256, in the same 4 MiB pieces)."""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from testing.appserver import AppServer, production_env, running_database_url
from tests.test_upload_memory import Browser, growth_mib, memory_kib, reset_peaks
from tests.test_upload_memory import gallery as gallery  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

MB = 1000 * 1000


@pytest.fixture
def app(gallery, static_root, tmp_path):
    server = AppServer(
        production_env(
            DATABASE_URL=running_database_url(),
            VIEWPORT_STATIC_ROOT=str(static_root),
            AWS_STORAGE_BUCKET_NAME="",  # local storage
            VIEWPORT_DATA_DIR=str(tmp_path),
        ),
        workers=2,
        threads=8,
    ).start()
    yield server
    server.stop()


def send_file(browser, gallery, name, data):
    """Start, PUT every part, complete: the complete's status and answer."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": browser.cookies["csrftoken"],
    }
    asked = {"name": name, "size": len(data), "type": "", "sha256": hashlib.sha256(data).hexdigest()}
    status, _, body = browser.request("POST", f"/galleries/{gallery.pk}/uploads/", json.dumps(asked).encode(), headers)
    assert status == 201, body[:300]
    answer = json.loads(body)
    size = answer["part_size"]
    for part in answer["parts"]:
        start = (part["number"] - 1) * size
        status, _, body = browser.request("PUT", part["url"], data[start : start + size], {})
        assert status == 200, body[:300]
    status, _, body = browser.request(
        "POST", f"/galleries/{gallery.pk}/uploads/{answer['upload_id']}/complete/", b"", headers
    )
    return status, json.loads(body)


def test_a_200_mb_file_sent_in_parts_leaves_the_app_servers_memory_flat(app, gallery):
    browser = Browser(app, gallery.owner.email)
    with ThreadPoolExecutor(4) as pool:  # both workers warm: imports, connections, the part path
        warm = list(pool.map(lambda n: send_file(browser, gallery, f"warm-{n}.bin", os.urandom(9 * MB)), range(4)))
    assert [status for status, _ in warm] == [202] * 4, warm
    data = os.urandom(200 * 1024 * 1024)
    pids = app.worker_pids()
    reset_peaks(pids)
    before = {pid: memory_kib(pid, "VmRSS") for pid in pids}
    status, answer = send_file(browser, gallery, "DSC_9999.tif", data)
    assert status == 202, answer
    growth = growth_mib(pids, before)
    print(f"\nA 200 MiB file in 25 parts of 8 MiB, then joined and hashed: worker growth {growth} MiB")
    assert max(growth.values()) < 40, growth  # a part's 8 MiB is never held whole: 4 MiB pieces
