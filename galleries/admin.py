from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from galleries import serving
from galleries.models import Gallery, PendingDeletion, Photo, PhotoSet


def thumbnail_tag(photo, size=64):
    scale = size / max(photo.thumbnail_size)
    width, height = (round(side * scale) for side in photo.thumbnail_size)
    url = reverse("admin:galleries_photo_thumbnail", args=[photo.pk])
    return format_html('<img src="{}" alt="" width="{}" height="{}" loading="lazy">', url, width, height)


class PhotoSetInline(admin.TabularInline):
    model = PhotoSet
    fields = ["name", "position", "photo_count"]
    readonly_fields = ["photo_count"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).with_photo_counts()

    @admin.display(description="Photos")
    def photo_count(self, photo_set):
        return photo_set.photo_count


class PhotoInline(admin.TabularInline):
    model = Photo
    fields = [
        "thumbnail",
        "original_filename",
        "photo_set",
        "captured_at",
        "file_size",
        "width",
        "height",
        "uploaded_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = True
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("photo_set").in_display_order()  # the gallery's order

    @admin.display(description="Thumbnail")
    def thumbnail(self, photo):
        return thumbnail_tag(photo)

    def has_add_permission(self, request, obj=None):
        return False  # photos are uploaded from the dashboard, where they are decoded and checked


@admin.register(Gallery)
class GalleryAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "sort", "photo_count", "total_size_display", "created_at", "updated_at"]
    list_select_related = ["owner"]
    list_filter = ["sort", "created_at"]
    search_fields = ["name", "owner__email", "owner__display_name", "=id"]
    raw_id_fields = ["owner", "cover_photo"]
    readonly_fields = ["id", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [PhotoSetInline, PhotoInline]

    def get_queryset(self, request):
        return super().get_queryset(request).with_photo_stats()

    @admin.display(description="Photos", ordering="photo_count")
    def photo_count(self, gallery):
        return gallery.photo_count

    @admin.display(description="Total size", ordering="total_size")
    def total_size_display(self, gallery):
        return filesizeformat(gallery.total_size)


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "original_filename",
        "gallery",
        "photo_set",
        "owner",
        "size_display",
        "dimensions",
        "captured_at",
        "uploaded_at",
    ]
    list_display_links = ["thumbnail", "original_filename"]
    list_select_related = ["gallery__owner", "photo_set"]
    list_filter = ["content_type", "uploaded_at"]
    search_fields = ["original_filename", "object_key", "gallery__name", "gallery__owner__email", "=id"]
    raw_id_fields = ["gallery", "photo_set"]
    readonly_fields = [
        "id",
        "thumbnail",
        "object_key",
        "thumbnail_object_key",
        "preview_object_key",
        "sort_key",
        "content_type",
        "file_size",
        "width",
        "height",
        "captured_at",
        "uploaded_at",
        "position",
    ]
    date_hierarchy = "uploaded_at"

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        # The dashboard's thumbnail view serves owners only; staff see any photo's through this one.
        view = self.admin_site.admin_view(self.thumbnail_view)
        return [path("<uuid:photo_id>/thumbnail/", view, name="galleries_photo_thumbnail"), *super().get_urls()]

    def thumbnail_view(self, request, photo_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        photo = get_object_or_404(Photo, pk=photo_id)
        return serving.serve_thumbnail(request, photo)

    @admin.display(description="Thumbnail")
    def thumbnail(self, photo):
        return thumbnail_tag(photo)

    @admin.display(description="Owner", ordering="gallery__owner__email")
    def owner(self, photo):
        return photo.gallery.owner

    @admin.display(description="Size", ordering="file_size")
    def size_display(self, photo):
        return filesizeformat(photo.file_size)

    @admin.display(description="Pixels")
    def dimensions(self, photo):
        return f"{photo.width} × {photo.height}" if photo.width else "—"


@admin.register(PendingDeletion)
class PendingDeletionAdmin(admin.ModelAdmin):
    list_display = ["object_key", "attempts", "last_attempt_at", "last_error"]
    search_fields = ["object_key"]
    readonly_fields = ["object_key", "attempts", "last_error", "created_at", "last_attempt_at"]
