from django.urls import path

from . import views

urlpatterns = [
    path("slack/interactions/", views.slack_interactions, name="chat-slack-interactions"),
]
