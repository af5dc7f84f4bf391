from django.urls import path

from apps.audit.views import audit_feed

app_name = "reports"

urlpatterns = [
    path("audit/events/", audit_feed, name="audit-feed"),
]
