"""Patient pages (mounted at /me/)."""

app_name = "medications"
urlpatterns: list = []
