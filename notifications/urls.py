"""Nurse dashboard pages (mounted at /nurse/)."""

app_name = "notifications"
urlpatterns: list = []
