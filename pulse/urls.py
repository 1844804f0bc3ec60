from django.contrib import admin
from django.urls import path

from pulse import views

admin.site.site_header = "Pulse administration"
admin.site.site_title = "Pulse"
admin.site.index_title = "Scheduled searches, mentions and runs"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
