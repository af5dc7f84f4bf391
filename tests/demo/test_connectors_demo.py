"""The demo binds "Customers" to a demo target database when PostgreSQL answers, once."""

from __future__ import annotations

import psycopg
import pytest

from apps.connectors.models import Target, TargetBinding
from apps.demo.connectors import load_connectors_demo
from apps.inventory.models import DataAsset, System

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DEMO_DB = "jp_demo_target_test"


@pytest.fixture
def demo_url(settings):
    url = f"postgresql://postgres@127.0.0.1:5432/{DEMO_DB}"
    settings.JITPORTAL_DEMO_TARGET_URL = url
    yield url
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DEMO_DB}" WITH (FORCE)')


def test_the_demo_binds_customers_to_its_target_once(demo_url):
    # Given the demo's Customers asset
    DataAsset.objects.create(system=System.objects.create(name="CRM"), name="Customers")
    # When the connectors demo is loaded twice
    first = load_connectors_demo()
    second = load_connectors_demo()
    # Then one target and one binding exist, checked clean against the real table
    assert first["target"] == second["target"] is not None
    binding = TargetBinding.objects.get()
    target = Target.objects.get()
    assert target.connection_url() == demo_url
    from apps.connectors.registry import connector_for

    assert connector_for(target).check_binding(binding) == []
    with psycopg.connect(demo_url) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (3,)


def test_no_target_when_postgresql_does_not_answer(settings):
    settings.JITPORTAL_DEMO_TARGET_URL = "postgresql://postgres@127.0.0.1:1/none"
    DataAsset.objects.create(system=System.objects.create(name="CRM"), name="Customers")
    assert load_connectors_demo() == {"target": None}
    assert not Target.objects.exists()
