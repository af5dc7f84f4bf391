from django.urls import path

from . import views

# Included at "connectors/" by jitportal/urls.py: the holder's side.
urlpatterns = [
    path("accounts/<int:pk>/password/", views.secret_reveal, name="connectors-secret-reveal"),
]
