from django.contrib import admin
from django.urls import include, path

from core import views as core_views

urlpatterns = [
    # Also answered by core.middleware.HealthCheckMiddleware before Host
    # validation; routed here too so they resolve like any other view.
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("version", core_views.version, name="version"),
    path("admin/", admin.site.urls),
    path("api/", include("releases.urls")),
    path("api-auth/", include("rest_framework.urls")),
]
