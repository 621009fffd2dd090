"""HTTP the way the app's clients make it: a browser that follows a redirect to a signed S3 URL,
and upload.js posting photos."""

import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request

from django.urls import reverse


def get(url, headers=None, timeout=10):
    """(status, headers, body) of a GET to a real server, redirects followed; an error status
    is an answer too, not an exception."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def fetch(response):
    """(bytes, headers) a browser ends up with for a test-client response: the signed URL's
    on S3 (the app redirects there), the streamed file's on local storage."""
    if response.status_code == 302:
        status, headers, body = get(response["Location"])
        assert status == 200, (response["Location"], status)
        return body, headers
    assert response.status_code == 200, response.status_code
    return response.getvalue(), response.headers


def upload(client, gallery, *files, json=True, follow=False):
    """POST photos to a gallery's upload endpoint as upload.js does (a JSON answer), or with
    `json=False` as the plain form does without JavaScript (a redirect with messages)."""
    headers = {"Accept": "application/json"} if json else {}
    url = reverse("galleries:photo_upload", args=[gallery.pk])
    return client.post(url, {"photos": list(files)}, headers=headers, follow=follow)


def put(url, body, timeout=10):
    """(status, body) of a PUT to a real server; a connection that drops raises OSError, as a
    browser's request fails."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("PUT", f"{parts.path}?{parts.query}" if parts.query else parts.path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class ResumableUploader:
    """A resumable upload as upload.js makes it: ask with the file's name, size, type and
    SHA-256, PUT each part the answer lists (on S3 to the bucket; local part URLs go to the
    test client, or to `base_url` when given), then complete. `sent` lists the part numbers
    PUT, in order, failed ones too."""

    def __init__(self, client, gallery, base_url=None):
        self.client, self.gallery, self.base_url = client, gallery, base_url
        self.sent = []

    def start(self, name, data, sha256=None, **fields):
        body = {
            "name": name,
            "size": len(data),
            "type": "image/png",
            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
            **fields,
        }
        url = reverse("galleries:upload_start", args=[self.gallery.pk])
        return self.client.post(url, body, content_type="application/json", headers={"Accept": "application/json"})

    def put_part(self, part, data, part_size):
        start = (part["number"] - 1) * part_size
        body = data[start : start + part_size]
        self.sent.append(part["number"])
        url = part["url"]
        if url.startswith("/") and self.base_url is None:
            response = self.client.put(url, body, content_type="application/octet-stream")
            return response.status_code
        return put(self.base_url + url if url.startswith("/") else url, body)[0]

    def complete(self, upload_id):
        url = reverse("galleries:upload_complete", args=[self.gallery.pk, upload_id])
        return self.client.post(url, headers={"Accept": "application/json"})

    def upload(self, name, data, **fields):
        """Start, send every missing part once, complete: the complete answer (or the start's,
        for a file that exists or is refused)."""
        started = self.start(name, data, **fields)
        if started.status_code not in (200, 201) or started.json()["status"] == "exists":
            return started
        answer = started.json()
        for part in answer["parts"]:
            assert self.put_part(part, data, answer["part_size"]) == 200
        return self.complete(answer["upload_id"])
