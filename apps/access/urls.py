from django.urls import path

from . import views

# Included at "" by jitportal/urls.py: the staff side of the portal.
urlpatterns = [
    path("", views.home, name="portal-home"),
    path("request/", views.request_create, name="access-request-create"),
    path("request/policy/", views.request_policy, name="access-request-policy"),
    path("requests/<int:pk>/", views.request_detail, name="access-request-detail"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="access-request-cancel"),
    path("grants/<int:pk>/", views.grant_detail, name="access-grant-detail"),
    path("grants/<int:pk>/give-back/", views.grant_relinquish, name="access-grant-relinquish"),
    path("grants/<int:pk>/extend/", views.grant_extend, name="access-grant-extend"),
]
