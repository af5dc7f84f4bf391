from django.urls import path

from . import views

# Included at "connectors/" by jitportal/urls.py: the holder's side.
urlpatterns = [
    path("grants/<int:pk>/accounts/", views.grant_accounts, name="connectors-grant-accounts"),
]
