"""How every view reads a request and answers it: the one place that decides between JSON (for
scripts) and a page (for browsers).

Views say what happened and this module answers both kinds of client:
- `show()`: what was asked for: the data as JSON, or the page;
- `answer()`: it was done: the data as JSON, or the notes as messages and a redirect;
- `refuse()`: it was refused: `{"error": message}`, or a page saying so;
- `refuse_form()`: a form's errors: `{"error": …, "fields": {name: [message, …]}}`, or the form again;
- `too_many_requests()`: a rate limit's refusal, 429 with Retry-After.
Every JSON error is `{"error": "<message>"}`, with `fields` only for a form's errors.
"""

import json
import posixpath
from functools import wraps
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required as redirect_to_login_required
from django.core.exceptions import BadRequest, TooManyFilesSent
from django.http import HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import csrf, defaults


def wants_json(request):
    """Whether the client asked for JSON (scripts send `Accept: application/json`) rather than
    a page; browsers, which also accept */*, get pages."""
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def sends_json(request):
    """Whether the body is JSON: a script's, which names only what it changes (a form post is
    the whole form)."""
    return request.content_type == "application/json"


def posted_data(request):
    """The submitted fields as a QueryDict: a form post, or a JSON object from a script.

    JSON values become the strings a form would post (true/false for checkboxes, lists for
    multiple values), so one form validates both. A body that is not a JSON object is a
    BadRequest (400), never an empty form that would pass validation.
    """
    if not sends_json(request):
        return request.POST
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    fields = QueryDict(mutable=True)
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (dict, list)):
                raise BadRequest(f"“{key}” must be a string, a number, true, false or null.")
            fields.appendlist(_unicode(key), _unicode(_as_form_value(item)))
    return fields


def _unicode(text):
    """JSON may carry lone surrogates (\\ud800), which no database can store."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise BadRequest("The request body holds text that is not valid Unicode.") from None
    return text


def _as_form_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def next_url(request, default, within="/"):
    """Where to go back to: the posted (or asked) `next` when it is a page of this site under
    `within` (a path ending in /), else `default`.

    The path is judged as a browser will read it: backslashes are slashes, and `.`, `..` and
    their percent-encoded spellings are resolved first (`/s/<id>/../../x` is `/x`, outside the
    link). What is followed is that normalised path, never the raw text.
    """
    text = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(text, {request.get_host()}, require_https=request.is_secure()):
        return default
    parts = urlsplit(text.replace("\\", "/"))
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    path = posixpath.normpath(unquote(parts.path))
    if path.startswith("//"):
        return default
    path = path + "/" if parts.path.endswith("/") and path != "/" else path
    if not (path.rstrip("/") + "/").startswith(within):
        return default
    return urlunsplit(("", "", path, parts.query, parts.fragment))


# Answers


def show(request, data, template, context=None):
    """What a view shows when it is asked (GET): `data` as JSON for a script, `template` with
    `context` for a browser."""
    if wants_json(request):
        return JsonResponse(data)
    return render(request, template, context)


def answer(request, data, redirect_to, *notes, status=200):
    """What a view that did what it was asked answers: `data` as JSON with `status` (None: an
    empty 204) for a script; for a browser, each of `notes` as a message (a text is a success,
    `(messages.WARNING, text)` says its level; empty ones are left out) and a redirect to
    `redirect_to` (a URL, a model with get_absolute_url, a URL name)."""
    if wants_json(request):
        return HttpResponse(status=204) if data is None else JsonResponse(data, status=status)
    for note in notes:
        if note:
            level, text = note if isinstance(note, tuple) else (messages.SUCCESS, note)
            messages.add_message(request, level, text)
    return redirect(redirect_to)


def error_json(status, message, fields=None, *, data=None, headers=None):
    """The one shape of every JSON error; `data` adds what a script needs to act on it (the
    parts an upload still lacks, the numbers of a quota)."""
    response = JsonResponse({"error": message, **({"fields": fields} if fields else {}), **(data or {})}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def refuse(request, status, message, template, context=None, headers=None):
    """The answer to a request refused with `status`: `{"error": message}` for a script; for a
    browser `template`, rendered with `message`, `status` and `context`."""
    if wants_json(request):
        response = error_json(status, message)
    else:
        context = {"message": message, "status": status, **(context or {})}
        response = render(request, template, context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def refuse_form(request, form, template, context=None, status=400):
    """The answer to a form with errors: for a script `{"error": <the first message>, "fields":
    {name: [message, …]}}` (`__all__` for errors of the whole form); for a browser `template`
    with the form (and `context`), which shows them."""
    if wants_json(request):
        fields = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
        first = form.non_field_errors() or next(iter(form.errors.values()))
        return error_json(status, str(first[0]), fields)
    return render(request, template, {"form": form, **(context or {})}, status=status)


def too_many_requests(request, limited, template, context=None):
    """The one answer to a request over a rate limit (accounts.throttling.RateLimited): 429,
    what the limit says, and when to try again."""
    return refuse(request, 429, str(limited), template, context, headers={"Retry-After": str(limited.retry_after)})


def bad_request(request, exception):
    """The 400 page (handler400), or the reason as JSON for a script."""
    if isinstance(exception, TooManyFilesSent):
        reason = f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} photos at a time."
    else:
        reason = str(exception) or "Bad request."
    return refuse(request, 400, reason, "400.html")


def page_not_found(request, exception):
    """The 404 page (handler404), or JSON for a script."""
    if wants_json(request):
        return error_json(404, "Not found.")
    return defaults.page_not_found(request, exception)


def login_required(view):
    """Django's login_required, except that a script (upload.js, a JSON client) whose session
    ended gets a 401 in JSON: it cannot follow the redirect to the login page, and would read
    that page as an answer."""
    redirecting = redirect_to_login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and wants_json(request):
            return error_json(401, "Your session has ended: please log in again.")
        return redirecting(request, *args, **kwargs)

    return wrapper


def csrf_failure(request, reason=""):
    """The CSRF check's refusal (CSRF_FAILURE_VIEW): Django's page, or JSON for a script."""
    if wants_json(request):
        return error_json(403, "The form has expired: reload the page and try again.")
    return csrf.csrf_failure(request, reason)
