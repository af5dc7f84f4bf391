"""The REST API under /api/ (docs/api.md); the schema and its browsable reference beside it."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .views import accounts, decisions, mine, records
from .views.base import unknown_address

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    # the requester
    path(
        "me/requestable/roles/", mine.RequestableRolesView.as_view(), name="api-requestable-roles"
    ),
    path(
        "me/requestable/assets/",
        mine.RequestableAssetsView.as_view(),
        name="api-requestable-assets",
    ),
    path("me/requests/", mine.MyRequestsView.as_view(), name="api-my-requests"),
    path("me/requests/<str:pk>/", mine.MyRequestView.as_view(), name="api-my-request"),
    path(
        "me/requests/<str:pk>/cancel/",
        mine.MyRequestCancelView.as_view(),
        name="api-my-request-cancel",
    ),
    path("me/grants/", mine.MyGrantsView.as_view(), name="api-my-grants"),
    path("me/grants/<str:pk>/", mine.MyGrantView.as_view(), name="api-my-grant"),
    path(
        "me/grants/<str:pk>/give-back/",
        mine.MyGrantGiveBackView.as_view(),
        name="api-my-grant-give-back",
    ),
    path(
        "me/grants/<str:pk>/extend/", mine.MyGrantExtendView.as_view(), name="api-my-grant-extend"
    ),
    path(
        "me/grants/<str:pk>/accounts/",
        accounts.MyGrantAccountsView.as_view(),
        name="api-my-grant-accounts",
    ),
    path(
        "me/grants/<str:pk>/accounts/<str:account>/password/",
        accounts.MyGrantAccountPasswordView.as_view(),
        name="api-my-grant-account-password",
    ),
    # the approver
    path("queue/", decisions.QueueView.as_view(), name="api-queue"),
    path("queue/<str:pk>/", decisions.QueueItemView.as_view(), name="api-queue-item"),
    path("queue/<str:pk>/approve/", decisions.ApproveView.as_view(), name="api-queue-approve"),
    path("queue/<str:pk>/shorten/", decisions.ShortenView.as_view(), name="api-queue-shorten"),
    path("queue/<str:pk>/deny/", decisions.DenyView.as_view(), name="api-queue-deny"),
    path("grants/", decisions.HoldersView.as_view(), name="api-grants"),
    path("grants/break-glass/", decisions.BreakGlassView.as_view(), name="api-break-glass"),
    path("grants/<str:pk>/", decisions.GrantView.as_view(), name="api-grant"),
    path("grants/<str:pk>/revoke/", decisions.RevokeView.as_view(), name="api-grant-revoke"),
    # inventory and records
    path("inventory/systems/", records.SystemsView.as_view(), name="api-systems"),
    path("inventory/systems/<str:pk>/", records.SystemView.as_view(), name="api-system"),
    path("inventory/assets/", records.AssetsView.as_view(), name="api-assets"),
    path("inventory/assets/<str:pk>/", records.AssetView.as_view(), name="api-asset"),
    path(
        "inventory/processing-activities/",
        records.ActivitiesView.as_view(),
        name="api-activities",
    ),
    path(
        "inventory/processing-activities/<str:pk>/",
        records.ActivityView.as_view(),
        name="api-activity",
    ),
    path("ropa/", records.RopaView.as_view(), name="api-ropa"),
    path("registers/asset/", records.AssetRegisterView.as_view(), name="api-register-asset"),
    path("registers/user/", records.UserRegisterView.as_view(), name="api-register-user"),
    path("audit/events/", records.AuditEventsView.as_view(), name="api-audit-events"),
    # Last: any other address under /api/ is a 404 problem detail, never a page or a redirect.
    re_path(r"^(?P<rest>.*)$", unknown_address, name="api-unknown"),
]
