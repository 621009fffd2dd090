def login_attempt_email(request, credentials=None):
    """The email a login attempt is for, as django-axes should count it (lower-cased)."""
    data = credentials or request.POST
    return (data.get("username") or data.get("email") or "").strip().lower()
