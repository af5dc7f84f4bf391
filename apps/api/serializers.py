"""What the API answers with (output), and the bodies it takes, described for the schema.

The bodies' values are read by the portal's own forms (``apps.api.inputs``), not by these
serializers: the input serializers below name the fields each body takes, for the OpenAPI
schema and for the check that refuses any other field (``ApiView.body_serializer``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access.models import AccessRequest, AccessRole, Grant, GrantEnd
from apps.access.selectors import approvals_still_needed_label, sensitivity_label
from apps.audit.models import AuditEvent
from apps.inventory.models import DataAsset, ProcessingActivity, System


class AssetBriefSerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.name", read_only=True)

    class Meta:
        model = DataAsset
        fields = ("id", "name", "system", "sensitivity", "is_special")


class RoleSerializer(serializers.ModelSerializer):
    assets = AssetBriefSerializer(many=True, read_only=True)
    default_duration_seconds = serializers.SerializerMethodField()
    max_duration_seconds = serializers.SerializerMethodField()

    class Meta:
        model = AccessRole
        fields = (
            "id",
            "name",
            "description",
            "can_view",
            "can_change",
            "can_export",
            "default_duration_seconds",
            "max_duration_seconds",
            "approvals_required",
            "require_justification",
            "require_ticket",
            "ticket_hint",
            "requester_mfa_required",
            "assets",
        )

    def get_default_duration_seconds(self, role: AccessRole) -> int:
        return int(role.default_duration.total_seconds())

    def get_max_duration_seconds(self, role: AccessRole) -> int:
        return int(role.max_duration.total_seconds())


class RequestSerializer(serializers.ModelSerializer):
    target = serializers.CharField(source="target_label", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decision = serializers.CharField(source="decision_text", read_only=True)
    approvals_still_needed = serializers.SerializerMethodField()
    grant = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields: tuple[str, ...] = (
            "id",
            "status",
            "status_label",
            "role",
            "asset",
            "target",
            "processing_activity",
            "starts_at",
            "ends_at",
            "justification",
            "ticket",
            "extends_grant",
            "is_break_glass",
            "approvals_required",
            "dpo_required",
            "approvals_still_needed",
            "lapses_at",
            "created_at",
            "decided_at",
            "decided_by",
            "decision",
            "grant",
        )

    def get_approvals_still_needed(self, obj: AccessRequest) -> str:
        return approvals_still_needed_label(obj)

    @extend_schema_field(OpenApiTypes.INT)
    def get_grant(self, obj: AccessRequest) -> int | None:
        try:
            return obj.grant.pk
        except Grant.DoesNotExist:
            return None


class QueueItemSerializer(RequestSerializer):
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    special_category = serializers.SerializerMethodField()
    sensitivity = serializers.SerializerMethodField()
    portal_url = serializers.SerializerMethodField()

    class Meta(RequestSerializer.Meta):
        fields = (
            *RequestSerializer.Meta.fields,
            "requester",
            "special_category",
            "sensitivity",
            "portal_url",
        )

    def get_special_category(self, obj: Any) -> bool:
        """Whether it opens Art. 9/10 data (approving it needs the DPO too, and, where MFA
        applies, a fresh second factor on the portal)."""
        return bool(getattr(obj, "holds_special", False))

    def get_sensitivity(self, obj: Any) -> str:
        return sensitivity_label(getattr(obj, "sensitivity_rank", None))

    def get_portal_url(self, obj: AccessRequest) -> str:
        """The admin's decision page (where a fresh second factor can be presented)."""
        path = reverse("admin:access_accessrequest_decide", args=[obj.pk, "approve"])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class GrantSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    target = serializers.CharField(source="request.target_label", read_only=True)
    assets = AssetBriefSerializer(many=True, read_only=True)
    live = serializers.SerializerMethodField()
    revoked_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    revoke_reason = serializers.CharField(source="revoke_text", read_only=True)
    end_reason = serializers.SerializerMethodField()
    end_reason_label = serializers.SerializerMethodField()

    class Meta:
        model = Grant
        fields = (
            "id",
            "request",
            "user",
            "target",
            "assets",
            "can_view",
            "can_change",
            "can_export",
            "starts_at",
            "ends_at",
            "status",
            "live",
            "is_break_glass",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
            "end_reason",
            "end_reason_label",
        )

    def get_live(self, obj: Grant) -> bool:
        return obj.is_live()

    @extend_schema_field(
        serializers.ChoiceField(choices=GrantEnd.choices, allow_null=True, read_only=True)
    )
    def get_end_reason(self, obj: Grant) -> str | None:
        """How it ended (``Grant.ended_how``): ``expired`` (its window ran out),
        ``given_back``, ``revoked``, ``not_entitled``, ``holder_offboarded``; null while it
        is scheduled or live."""
        how = obj.ended_how()
        return how.value if how else None

    def get_end_reason_label(self, obj: Grant) -> str:
        """``end_reason`` in the reader's language; empty while it is scheduled or live."""
        how = obj.ended_how()
        return str(how.label) if how else ""


class SystemSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = System
        fields = (
            "id",
            "name",
            "description",
            "owner",
            "owner_team",
            "hosting_location",
            "vendor",
        )


class AssetSerializer(serializers.ModelSerializer):
    system = serializers.PrimaryKeyRelatedField(read_only=True)
    system_name = serializers.CharField(source="system.name", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    categories = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = DataAsset
        fields = (
            "id",
            "name",
            "system",
            "system_name",
            "description",
            "owner",
            "sensitivity",
            "is_special",
            "categories",
            "record_count_estimate",
            "archived_at",
        )


class ActivitySerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assets = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ProcessingActivity
        fields = (
            "id",
            "name",
            "reference",
            "business_function",
            "owner",
            "is_active",
            "role",
            "purposes",
            "lawful_basis",
            "assets",
        )


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = AuditEvent
        fields = (
            "id",
            "occurred_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "reason",
            "data",
            "prev_hash",
            "hash",
        )


# --- bodies (the fields each takes; the portal's forms read the values) ----------------------


class RequestCreateBody(serializers.Serializer):
    role = serializers.IntegerField(required=False, help_text="A role id (or give asset).")
    asset = serializers.IntegerField(required=False, help_text="A data asset id (or a role).")
    starts_at = serializers.DateTimeField(
        required=False, help_text="ISO 8601 with offset; absent: now, once approved."
    )
    duration_hours = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, help_text="Or give ends_at."
    )
    ends_at = serializers.DateTimeField(required=False, help_text="Instead of duration_hours.")
    justification = serializers.CharField(required=False)
    ticket = serializers.CharField(required=False)
    processing_activity = serializers.IntegerField(
        required=False, help_text="Required whenever the register has active activities."
    )


class ExtendBody(serializers.Serializer):
    extend_by_hours = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    ends_at = serializers.DateTimeField(required=False, help_text="Instead of extend_by_hours.")
    justification = serializers.CharField(required=False)
    ticket = serializers.CharField(required=False)


class ApproveBody(serializers.Serializer):
    comment = serializers.CharField(required=False)
    ends_at = serializers.DateTimeField(
        required=False, help_text="Shorten the window to end earlier (optional)."
    )


class ShortenBody(serializers.Serializer):
    ends_at = serializers.DateTimeField(help_text="The earlier end the approval gives.")
    comment = serializers.CharField(required=False)


class ReasonBody(serializers.Serializer):
    reason = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(required=False)
    errors = serializers.ListField(child=serializers.DictField(), required=False)
    portal_url = serializers.URLField(required=False)


class RegisterRowSerializer(serializers.Serializer):
    grant = serializers.IntegerField()
    request = serializers.IntegerField()
    user = serializers.CharField()
    user_name = serializers.CharField()
    assets = serializers.CharField()
    asset_ids = serializers.ListField(child=serializers.IntegerField())
    rights = serializers.CharField()
    held_from = serializers.DateTimeField()
    held_until = serializers.DateTimeField()
    ended = serializers.CharField()
    justification = serializers.CharField()
    ticket = serializers.CharField()
    purpose = serializers.CharField()
    break_glass = serializers.CharField()
    requested_at = serializers.DateTimeField()
    approved_by = serializers.CharField()
    decided_by = serializers.CharField()
    policy = serializers.CharField()
    policy_terms = serializers.CharField()
