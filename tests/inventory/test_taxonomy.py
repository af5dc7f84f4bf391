import csv
import importlib
from pathlib import Path

import pytest
from django.apps import apps as global_apps

from apps.inventory.gdpr import CategoryKind
from apps.inventory.models import DataCategory, DataSubjectCategory
from apps.inventory.taxonomy import DEFAULT_CATEGORIES, DEFAULT_SUBJECTS, taxonomy_seed

pytestmark = pytest.mark.django_db

# The reference list of Art. 9(1) and Art. 10 categories the seeded taxonomy must agree with.
with open(
    Path(__file__).resolve().parents[2] / "docs/reference/gdpr/special_categories.csv", newline=""
) as _handle:
    SPECIAL_CATEGORIES_CSV = {row["category"]: row["article"] for row in csv.DictReader(_handle)}

ORDINARY_GROUPS = [
    "identity",
    "contact",
    "account",
    "financial",
    "location",
    "online-identifiers",
    "behaviour",
    "employment",
    "education",
    "government-ids",
    "communications",
    "images-recordings",
]


def test_every_art9_and_art10_category_is_seeded_and_flagged():
    # given the migrated database
    # then each category of the reference list exists as a built-in with the right kind
    for name, article in SPECIAL_CATEGORIES_CSV.items():
        category = DataCategory.objects.get(name=name)
        expected = CategoryKind.CRIMINAL if article == "Art. 10" else CategoryKind.SPECIAL
        assert category.kind == expected, name
        assert category.is_builtin and category.is_special


def test_ordinary_groups_have_children_and_are_not_special():
    for slug in ORDINARY_GROUPS:
        parent = DataCategory.objects.get(slug=slug, parent=None)
        assert parent.kind == CategoryKind.ORDINARY
        children = list(parent.children.all())
        assert len(children) >= 2, slug
        assert all(c.kind == CategoryKind.ORDINARY and c.is_builtin for c in children)


def test_special_children_share_their_parents_kind():
    for parent in DataCategory.objects.filter(parent=None).exclude(kind=CategoryKind.ORDINARY):
        assert parent.children.exists()
        assert set(parent.children.values_list("kind", flat=True)) == {parent.kind}


def test_default_subjects_with_vulnerable_groups():
    assert DataSubjectCategory.objects.filter(is_builtin=True).count() == len(DEFAULT_SUBJECTS)
    for name in ("Customers", "Employees", "Job applicants", "Suppliers' contacts"):
        assert DataSubjectCategory.objects.filter(name=name).exists()
    assert DataSubjectCategory.objects.get(name="Minors").is_vulnerable
    assert DataSubjectCategory.objects.get(name="Patients").is_vulnerable
    assert not DataSubjectCategory.objects.get(name="Website visitors").is_vulnerable


def test_seeding_again_respects_dpo_edits_and_creates_only_what_is_missing():
    # given the DPO renamed one built-in category, deleted another and added their own
    health = DataCategory.objects.get(slug="health")
    health.name = "Health information"
    health.save()
    DataCategory.objects.get(slug="sex-life").delete()
    DataCategory.objects.create(name="Loyalty tier", slug="loyalty-tier")
    DataSubjectCategory.objects.filter(name="Shareholders").delete()
    before = DataCategory.objects.count()

    # when the seed runs again (as the migration and the demo loader do)
    created = taxonomy_seed(category_model=DataCategory, subject_model=DataSubjectCategory)

    # then only the deleted rows come back and the edit stands
    assert created == {"categories": 1, "subjects": 1}
    assert DataCategory.objects.count() == before + 1
    assert DataCategory.objects.get(slug="health").name == "Health information"
    assert DataCategory.objects.filter(slug="loyalty-tier").exists()
    # and a third run creates nothing
    assert taxonomy_seed(category_model=DataCategory, subject_model=DataSubjectCategory) == {
        "categories": 0,
        "subjects": 0,
    }


def test_seed_finds_a_category_the_dpo_created_by_name():
    # given the DPO already had "Genetic data" under another slug before the seed
    DataCategory.objects.filter(slug="genetic-data").delete()
    DataCategory.objects.create(name="Genetic data", slug="dna", kind=CategoryKind.SPECIAL)
    # when the seed runs
    created = taxonomy_seed(category_model=DataCategory, subject_model=DataSubjectCategory)
    # then it does not fail on the unique name and keeps the DPO's row
    assert created["categories"] == 0
    assert DataCategory.objects.filter(name="Genetic data").count() == 1


def test_migration_runs_the_seed_with_historical_models():
    # given the data migration's function and the historical app registry
    migration = importlib.import_module("apps.inventory.migrations.0003_default_taxonomy")
    DataCategory.objects.filter(slug="political-opinions").delete()
    # when it runs again (e.g. a re-applied migration) with the real registry
    migration.seed(global_apps, None)
    # then the missing category is back, flagged
    assert DataCategory.objects.get(slug="political-opinions").kind == CategoryKind.SPECIAL


def test_seed_data_names_are_unique():
    seeds = [c for parent in DEFAULT_CATEGORIES for c in (parent, *parent.children)]
    assert len({s.slug for s in seeds}) == len(seeds)
    assert len({s.name.lower() for s in seeds}) == len(seeds)


def test_the_art9_conditions_are_the_reference_list():
    # Given the Art. 9(2) conditions of the reference data, then the condition choices are
    # exactly those, in order (labels may be shorter: the code is what is stored).
    path = Path(__file__).resolve().parents[2] / "docs/reference/gdpr/art9_conditions.csv"
    with open(path, newline="") as handle:
        codes = [row["code"] for row in csv.DictReader(handle)]
    from apps.inventory.gdpr import Art9Condition

    assert [c.value for c in Art9Condition] == codes
