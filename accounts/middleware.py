from django.utils import timezone


def photographer_time_zone(get_response):
    """Pages for a logged-in photographer show times in their own time zone (User.time_zone);
    everyone else's in the site's (TIME_ZONE)."""

    def middleware(request):
        if request.user.is_authenticated:
            with timezone.override(request.user.zone):
                return get_response(request)
        return get_response(request)

    return middleware
