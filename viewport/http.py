"""What every app's views need to know about a request, decided in one place."""

import json
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required as redirect_to_login_required
from django.core.exceptions import BadRequest, TooManyFilesSent
from django.http import JsonResponse, QueryDict
from django.shortcuts import render
from django.views import csrf, defaults


def wants_json(request):
    """Whether the client asked for JSON (scripts send `Accept: application/json`) rather than
    a page; browsers, which also accept */*, get pages."""
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def posted_data(request):
    """The submitted fields as a QueryDict: a form post, or a JSON object from a script.

    JSON values become the strings a form would post (true/false for checkboxes, lists for
    multiple values), so one form validates both. A body that is not a JSON object is a
    BadRequest (400), never an empty form that would pass validation.
    """
    if request.content_type != "application/json":
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


def bad_request(request, exception):
    """The 400 page (handler400), or the reason as JSON for a script."""
    if isinstance(exception, TooManyFilesSent):
        reason = f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} photos at a time."
    else:
        reason = str(exception) or "Bad request."
    if wants_json(request):
        return JsonResponse({"error": reason}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)


def page_not_found(request, exception):
    """The 404 page (handler404), or JSON for a script."""
    if wants_json(request):
        return JsonResponse({"error": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def login_required(view):
    """Django's login_required, except that a script (upload.js, a JSON client) whose session
    ended gets a 401 in JSON: it cannot follow the redirect to the login page, and would read
    that page as an answer."""
    redirecting = redirect_to_login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and wants_json(request):
            return JsonResponse({"error": "Your session has ended: please log in again."}, status=401)
        return redirecting(request, *args, **kwargs)

    return wrapper


def csrf_failure(request, reason=""):
    """The CSRF check's refusal (CSRF_FAILURE_VIEW): Django's page, or JSON for a script."""
    if wants_json(request):
        return JsonResponse({"error": "The form has expired: reload the page and try again."}, status=403)
    return csrf.csrf_failure(request, reason)
