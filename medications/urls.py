"""Patient pages (mounted at /me/)."""

from django.urls import path

from .pages import report_steps, views

app_name = "medications"
urlpatterns = [
    path("", views.today, name="today"),
    path("doses/<int:dose_id>/", views.dose_card, name="dose_card"),
    path("doses/<int:dose_id>/taken/", views.dose_taken, name="dose_taken"),
    path("doses/<int:dose_id>/not-taken/", views.dose_not_taken, name="dose_not_taken"),
    path("symptoms/new/", views.symptom_new, name="symptom_new"),
    path("symptoms/report/", report_steps.symptom_steps, name="symptom_steps"),
    path("symptoms/<int:report_id>/", views.symptom_result, name="symptom_result"),
    path("treatment/", views.treatment, name="treatment"),
    path("history/", views.history, name="history"),
]
