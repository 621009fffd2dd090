from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import forms, views

app_name = "accounts"
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("challenge/", views.challenge, name="challenge"),
    path("confirm-email/", views.confirm_email_resend, name="confirm_email_resend"),
    path("confirm-email/<str:token>/", views.confirm_email, name="confirm_email"),
    path("profile/branding/", views.branding, name="branding"),
    path("profile/watermark/", views.watermark, name="watermark"),
    path("profile/watermark/preview.jpg", views.watermark_preview, name="watermark_preview"),
    path("profile/watermark/image.png", views.watermark_image, name="watermark_image"),
    path("brand/<uuid:photographer_id>/<slug:version>/style.css", views.brand_css, name="brand_css"),
    path("brand/<uuid:photographer_id>/<slug:version>/logo.png", views.brand_logo, name="brand_logo"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            form_class=forms.PasswordChangeForm, success_url=reverse_lazy("accounts:password_change_done")
        ),
        name="password_change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=forms.SetPasswordForm, success_url=reverse_lazy("accounts:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
