from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from patients.api import PatientViewSet, TokenView

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("patients", PatientViewSet, basename="patient")

api_v1 = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split view: Swagger UI's start-up script is a separate same-origin file, not inline
    # (CSP script-src 'self'); only this page allows the inline <style> of its template.
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("", include(router.urls)),
    path("", include("patients.api_urls")),
    path("", include("medications.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("interop.api_urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("offline/", views.offline, name="offline"),
    path("accounts/", include("patients.urls")),
    # interop pages: the clinic summary (/nurse/patients/<id>/summary/) and the patient's
    # own downloads (/me/export/); before the apps that own those URL spaces.
    path("", include("interop.urls")),
    path("me/", include("medications.urls")),
    path("nurse/", include("notifications.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # FHIR R4 (interop; docs/fhir.md): read-only, same sign-in and scoping as /api/v1/.
    path("fhir/r4/", include("interop.fhir.urls")),
]

# JSON error answers under /api/ (tracker/api.py); the usual HTML pages elsewhere.
handler400 = "core.api.bad_request"
handler404 = "core.api.page_not_found"
handler500 = "core.api.server_error"
