from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

admin.site.site_header = _("jitportal administration")
admin.site.site_title = "jitportal"
admin.site.index_title = _("Data inventory, access and retention")

urlpatterns = [
    # The login pages and single sign-on (apps/signin/urls.py); before the admin, whose login
    # page it replaces when PASSWORD_SIGNIN is off.
    path("", include("apps.signin.urls")),
    # ADMIN_URL (settings): "admin/" unless the operator moves it.
    path(settings.ADMIN_URL, admin.site.urls),
    path("health/", include("apps.health.urls")),
    # set_language: the language switcher on every page posts here (a cookie, no account change).
    path("i18n/", include("django.conf.urls.i18n")),
    # The portal scripts' strings (static/js, djangojs catalogue) in the reader's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("apps.access.urls")),
    path("records/", include("apps.crm.urls")),
    path("connectors/", include("apps.connectors.urls")),
    path("reports/", include("apps.reports.urls")),
]
