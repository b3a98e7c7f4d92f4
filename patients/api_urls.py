"""API routes of this app besides the patient viewset, mounted under /api/v1/."""

from django.urls import path

from . import reminders_api

urlpatterns = [
    path(
        "patients/<str:patient_id>/reminders/",
        reminders_api.PatientRemindersView.as_view(),
        name="patient-reminders",
    ),
    path("push/key/", reminders_api.PushKeyView.as_view(), name="push-key"),
    path(
        "push-subscriptions/",
        reminders_api.PushSubscriptionsView.as_view(),
        name="push-subscriptions",
    ),
    path(
        "push-subscriptions/<int:subscription_id>/",
        reminders_api.PushSubscriptionDetailView.as_view(),
        name="push-subscription-detail",
    ),
]
