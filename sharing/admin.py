from django.contrib import admin

from sharing.models import ShareLink


class ExpiryFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.active()
        if self.value() == "expired":
            return queryset.expired()
        return queryset


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = [
        "id", "gallery", "owner", "status", "expires_at", "views", "zip_downloads", "single_downloads", "created_at",
    ]
    list_select_related = ["gallery__owner"]
    list_filter = [ExpiryFilter, "created_at", "expires_at"]
    search_fields = ["=id", "gallery__name", "gallery__owner__email"]
    raw_id_fields = ["gallery"]
    readonly_fields = ["id", "views", "zip_downloads", "single_downloads", "created_at"]
    date_hierarchy = "created_at"

    @admin.display(description="Owner", ordering="gallery__owner__email")
    def owner(self, link):
        return link.gallery.owner

    @admin.display(description="Status")
    def status(self, link):
        if link.is_expired:
            return "Expired"
        return "Active" if link.expires_at else "Active (never expires)"
