"""Nurse dashboard pages (mounted at /nurse/)."""

from django.urls import path

from .dashboard import alert_views, baseline_views, check_in_views, metrics_view, views

app_name = "notifications"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("queue/rows/", views.queue_rows, name="queue_rows"),
    path("queue/pulse/", views.queue_pulse, name="queue_pulse"),
    path("alerts/<int:alert_id>/", alert_views.alert_detail, name="alert"),
    path(
        "alerts/<int:alert_id>/acknowledge/",
        alert_views.alert_acknowledge,
        name="alert_acknowledge",
    ),
    path("alerts/<int:alert_id>/resolve/", alert_views.alert_resolve, name="alert_resolve"),
    path("metrics/", metrics_view.metrics_page, name="metrics"),
    path("metrics/metrics.csv", metrics_view.metrics_download, name="metrics_csv"),
    path("patients/", views.patient_list, name="patients"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<int:patient_id>/timeline/", views.patient_timeline, name="patient_timeline"),
    path(
        "patients/<int:patient_id>/check-ins/<slug:action>/",
        check_in_views.check_ins_change,
        name="check_ins_change",
    ),
    path(
        "patients/<int:patient_id>/expected-symptoms/",
        baseline_views.expected_symptom_set,
        name="expected_symptom_set",
    ),
    path(
        "patients/<int:patient_id>/expected-symptoms/<int:baseline_id>/end/",
        baseline_views.expected_symptom_end,
        name="expected_symptom_end",
    ),
    path(
        "patients/<int:patient_id>/prescriptions/<int:prescription_id>/<slug:action>/",
        views.prescription_action,
        name="prescription_action",
    ),
    path(
        "patients/<int:patient_id>/infusions/<int:appointment_id>/<slug:action>/",
        views.infusion_action,
        name="infusion_action",
    ),
]
