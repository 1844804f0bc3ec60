from django.contrib import admin
from django.urls import path, re_path

from pulse import dashboard, views
from pulse.api import api_urls, not_found_view

admin.site.site_header = "Pulse administration"
admin.site.site_title = "Pulse"
admin.site.index_title = "Scheduled searches, mentions and runs"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    # Before admin.site.urls so the admin's catch-all app pattern does not take it.
    path("admin/pulse/dashboard/", admin.site.admin_view(dashboard.dashboard_view), name="pulse_dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls()),
    # Unknown paths under the API answer in JSON like the rest of it.
    re_path(r"^api/v1/(?P<unmatched>.*)$", not_found_view),
]
