from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import sign_in_views, views

urlpatterns = [
    path("login/", sign_in_views.SignInView.as_view(), name="login"),
    path("password-reset/", sign_in_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        sign_in_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        sign_in_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        sign_in_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("session/", sign_in_views.session_state, name="session_state"),
    path("link/<str:token>/", sign_in_views.sign_in_link, name="sign_in_link"),
    path("link-password/", sign_in_views.sign_in_link_password, name="sign_in_link_password"),
    path(
        "patients/<int:patient_id>/sign-in-link/",
        sign_in_views.patient_sign_in_link,
        name="patient_sign_in_link",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    # A new nurse's invite link (patients/invites.py): choose a password, then sign in.
    path(
        "invite/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/invite_confirm.html",
            success_url=reverse_lazy("invite_done"),
        ),
        name="invite",
    ),
    path(
        "invite/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/invite_done.html"),
        name="invite_done",
    ),
    path("", views.account, name="account"),
]
