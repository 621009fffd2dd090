from django.contrib import admin

from sharing.models import ShareLink


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("paused", "Paused"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        return queryset.with_status(self.value()) if self.value() else queryset


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "label",
        "gallery",
        "owner",
        "status_display",
        "has_password",
        "allow_zip",
        "allow_single",
        "download_size",
        "watermark",
        "expires_at",
        "views",
        "zip_downloads",
        "single_downloads",
        "created_at",
    ]
    list_select_related = ["gallery__owner"]
    list_filter = [
        StatusFilter,
        "allow_zip",
        "allow_single",
        "download_size",
        "strip_location",
        "created_at",
        "expires_at",
    ]
    search_fields = ["=id", "label", "gallery__name", "gallery__owner__email"]
    raw_id_fields = ["gallery"]
    # The password's hash is not editable and never shown; photographers set passwords themselves.
    fields = [
        "id",
        "gallery",
        "label",
        "expires_at",
        "is_active",
        "allow_zip",
        "allow_single",
        "download_size",
        "watermark",
        "strip_location",
        "has_password",
        "views",
        "zip_downloads",
        "single_downloads",
        "created_at",
    ]
    readonly_fields = ["id", "has_password", "views", "zip_downloads", "single_downloads", "created_at"]
    date_hierarchy = "created_at"

    @admin.display(description="Owner", ordering="gallery__owner__email")
    def owner(self, link):
        return link.gallery.owner

    @admin.display(description="Status")
    def status_display(self, link):
        return link.status.capitalize()

    @admin.display(description="Password", boolean=True)
    def has_password(self, link):
        return link.has_password
