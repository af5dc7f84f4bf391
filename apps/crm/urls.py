from django.urls import path

from . import views

# Included at "records/" by jitportal/urls.py.
urlpatterns = [
    path("", views.customer_list, name="crm-customer-list"),
    path("customers/<int:pk>/", views.customer_detail, name="crm-customer-detail"),
    path("tickets/", views.ticket_list, name="crm-ticket-list"),
    path("tickets/<int:pk>/", views.ticket_detail, name="crm-ticket-detail"),
]
