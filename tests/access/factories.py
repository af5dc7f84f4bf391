"""Factories for the access app's tests."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from apps.access.models import AccessRequest, AccessRole, Grant, GrantStatus, RequestStatus
from tests.factories import DataAssetFactory, UserFactory


class AccessRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessRole
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Role {n}")
    description = "Read customer records for support work"
    can_view = True
    approvals_required = 1
    require_justification = True
    default_duration = timedelta(hours=4)
    max_duration = timedelta(hours=8)
    pending_timeout = timedelta(days=2)

    @factory.post_generation
    def assets(self, create, extracted, **kwargs):
        if not create:
            return
        self.assets.set(extracted if extracted is not None else [DataAssetFactory()])

    @factory.post_generation
    def approver_groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.approver_groups.set(extracted)

    @factory.post_generation
    def requestable_by_groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.requestable_by_groups.set(extracted)

    @factory.post_generation
    def requestable_by_users(self, create, extracted, **kwargs):
        if create and extracted:
            self.requestable_by_users.set(extracted)


class AccessRequestFactory(factory.django.DjangoModelFactory):
    """A pending request made directly (no service): for queues and admin lists."""

    class Meta:
        model = AccessRequest

    requester = factory.SubFactory(UserFactory)
    role = factory.SubFactory(AccessRoleFactory)
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda r: r.starts_at + timedelta(hours=4))
    justification = "Customer complaint follow-up"
    status = RequestStatus.PENDING
    approvals_required = factory.LazyAttribute(lambda r: r.role.approvals_required if r.role else 1)
    dpo_required = False
    lapses_at = factory.LazyAttribute(lambda r: r.starts_at + timedelta(days=2))
    remind_at = factory.LazyAttribute(lambda r: r.starts_at + timedelta(hours=8))
    policy_snapshot = factory.LazyAttribute(
        lambda r: {
            "can_view": True,
            "can_change": False,
            "can_export": False,
            "approvals_required": r.approvals_required,
            "dpo_required": r.dpo_required,
        }
    )


class GrantFactory(factory.django.DjangoModelFactory):
    """A grant with its approved request, live from now for four hours by default."""

    class Meta:
        model = Grant
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda g: g.starts_at + timedelta(hours=4))
    request = factory.SubFactory(
        AccessRequestFactory,
        requester=factory.SelfAttribute("..user"),
        status=RequestStatus.APPROVED,
        starts_at=factory.SelfAttribute("..starts_at"),
        ends_at=factory.SelfAttribute("..ends_at"),
    )
    can_view = True
    status = factory.LazyAttribute(
        lambda g: GrantStatus.ACTIVE if g.starts_at <= timezone.now() else GrantStatus.SCHEDULED
    )

    @factory.post_generation
    def assets(self, create, extracted, **kwargs):
        if not create:
            return
        if extracted is not None:
            self.assets.set(extracted)
        elif self.request.role_id:
            self.assets.set(self.request.role.assets.all())
        else:
            self.assets.set([self.request.asset])
