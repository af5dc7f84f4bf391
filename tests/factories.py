"""Factories shared by every app's tests. App-specific ones live beside their tests."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from apps.inventory import models as inv
from apps.inventory.gdpr import CategoryKind, LawfulBasis, RecipientKind, Sensitivity

DEFAULT_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get_or_create(name=name)[0])
        if create:
            self.save()


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.Organisation

    legal_name = "Example Health Ltd"
    address = "1 Example Street, Dublin"
    email = "privacy@example.org"
    telephone = "+353 1 000 0000"
    dpo_name = "Dana Pro"
    dpo_email = "dpo@example.org"


class DataCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.DataCategory
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    kind = CategoryKind.ORDINARY


class DataSubjectCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.DataSubjectCategory
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Subjects {n}")


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.System
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"System {n}")
    hosting_country = "IE"
    hosting_location = "eu-west-1"


class DataAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.DataAsset
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Asset {n}")
    system = factory.SubFactory(SystemFactory)
    sensitivity = Sensitivity.CONFIDENTIAL

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            self.categories.set(extracted)
            self.refresh_from_db(fields=["is_special"])


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.Recipient

    name = factory.Sequence(lambda n: f"Recipient {n}")
    kind = RecipientKind.PROCESSOR
    country = "IE"


class ProcessingActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = inv.ProcessingActivity

    name = factory.Sequence(lambda n: f"Activity {n}")
    purposes = "Providing the service"
    lawful_basis = LawfulBasis.CONTRACT
