from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

admin.site.site_header = "jitportal administration"
admin.site.site_title = "jitportal"
admin.site.index_title = "Data inventory, access and retention"

urlpatterns = [
    # The login pages and single sign-on (apps/signin/urls.py); before the admin, whose login
    # page it replaces when PASSWORD_SIGNIN is off.
    path("", include("apps.signin.urls")),
    path("admin/", admin.site.urls),
    # set_language: the language switcher on every page posts here (a cookie, no account change).
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("apps.access.urls")),
    path("records/", include("apps.crm.urls")),
    path("reports/", include("apps.reports.urls")),
]
