from django.contrib import admin

from favourites.models import Favourite, FavouriteList


class FavouriteInline(admin.TabularInline):
    model = Favourite
    fields = ["photo", "comment", "created_at"]
    readonly_fields = ["photo", "created_at"]
    extra = 0


@admin.register(FavouriteList)
class FavouriteListAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "link", "photo_count", "submitted_at", "updated_at"]
    list_select_related = ["link__gallery"]
    list_filter = [("submitted_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "email", "link__label", "link__gallery__name", "=id"]
    raw_id_fields = ["link"]
    # The resume tokens are stored hashed, and not shown even so.
    fields = ["id", "link", "name", "email", "submitted_at", "resume_sent_at", "created_at", "updated_at"]
    readonly_fields = ["id", "resume_sent_at", "created_at", "updated_at"]
    inlines = [FavouriteInline]

    def get_queryset(self, request):
        return super().get_queryset(request).with_counts()

    @admin.display(description="Photos", ordering="photo_count")
    def photo_count(self, favourite_list):
        return favourite_list.photo_count
