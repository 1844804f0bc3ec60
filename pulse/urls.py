from django.contrib import admin
from django.urls import path, re_path

from pulse import views
from pulse.api import api_urls, not_found_view

admin.site.site_header = "Pulse administration"
admin.site.site_title = "Pulse"
admin.site.index_title = "Scheduled searches, mentions and runs"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls()),
    # Unknown paths under the API answer in JSON like the rest of it.
    re_path(r"^api/v1/(?P<unmatched>.*)$", not_found_view),
]
