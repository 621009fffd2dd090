"""HTTP the way the app's clients make it: a browser that follows a redirect to a signed S3 URL,
and upload.js posting photos."""

import urllib.error
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
