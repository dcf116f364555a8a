from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as core_views

urlpatterns = [
    # Also answered by core.middleware.HealthCheckMiddleware before Host
    # validation; routed here too so they resolve like any other view.
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("version", core_views.version, name="version"),
    path(settings.ADMIN_URL, admin.site.urls),
    # API tokens: POST with a session or basic credentials gets one (shown once, stored hashed).
    path("api/auth/login/", core_views.TokenLoginView.as_view(), name="knox_login"),
    path("api/auth/logout/", core_views.TokenLogoutView.as_view(), name="knox_logout"),
    path("api/auth/logoutall/", core_views.TokenLogoutAllView.as_view(), name="knox_logoutall"),
    # The OpenAPI 3 schema, and a docs page over it.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include("releases.urls")),
    path("api-auth/", include("rest_framework.urls")),
]

# Errors outside DRF's views: JSON under /api/ and the operational endpoints.
handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
