"""Every public service that takes free text from a person checks it itself.

A form is one way in; the API, the management commands, the MCP server and Slack reach the
same services. So every service outside ``apps.access`` (whose services check their text
inline: tests/access/test_text_limits.py) that takes a text parameter either checks it with
``jitportal.inputs.checks_text`` (listed in ``TEXT_SERVICES``) or is exempt below, with the
reason. The walk finds the services at run time: a new service with a text parameter fails
here until it is checked or exempted.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import translation

import apps
from apps.retention.models import RetentionRule
from apps.retention.services import retention_rule_save
from jitportal.inputs import TEXT_MAX_LENGTH, TEXT_SERVICES, TextRule
from tests.retention.factories import make_rule

#: (module.function, parameter) -> why the text is not a person's free text.
EXEMPT: dict[tuple[str, str], str] = {
    **{
        (f"apps.{where}", "actor_label"): "the channel's label, set by code (system:beat, slack)"
        for where in (
            "retention.services.holds.legal_hold_place",
            "retention.services.holds.legal_hold_lift",
            "retention.services.interrupted.purge_runs_interrupted_close",
            "retention.services.requests.purge_run_dry",
            "retention.services.requests.purge_run_request",
            "retention.services.rules.retention_rule_save",
            "retention.services.rules.retention_rule_record_change",
            "reports.services.ropa_snapshot_take",
            "audit.services.audit_event_record",
            "audit.services.audit_verification_failure_record",
        )
    },
    ("apps.retention.services.holds.legal_hold_place", "scope"): "a HoldScope choice",
    ("apps.retention.services.holds.legal_hold_place", "basis"): "a HoldBasis choice",
    ("apps.retention.services.requests.purge_run_dry", "trigger"): "a PurgeTrigger choice",
    ("apps.retention.services.requests.purge_run_request", "trigger"): "a PurgeTrigger choice",
    ("apps.retention.services.rules.retention_rule_save", "fields"): (
        "anonymised field specs, each full_clean()ed; the rule's own text: "
        "test_a_rule_with_over_long_or_control_text_is_refused"
    ),
    ("apps.integrations.services.token_digest", "raw"): "a token compared, never stored",
    ("apps.integrations.services.integration_token_authenticate", "raw"): "a token compared",
    ("apps.integrations.services.integration_token_authenticate", "scope"): "set by code",
    ("apps.integrations.services.token_scopes_check", "scopes"): "each one a registered scope",
    ("apps.integrations.services.integration_token_create", "scopes"): "registered scopes",
    ("apps.webhooks.services.deliveries.webhook_body", "event_type"): "an EventType, by code",
    ("apps.webhooks.services.deliveries.webhook_body", "data"): "event data, by code",
    ("apps.webhooks.services.deliveries.webhook_delivery_create", "event_type"): "by code",
    ("apps.webhooks.services.deliveries.webhook_delivery_create", "data"): "by code",
    ("apps.webhooks.services.deliveries.webhook_delivery_create", "idempotency_key"): "by code",
    ("apps.webhooks.services.subscriptions.webhook_subscription_create", "event_types"): (
        "each one an EventType value"
    ),
    ("apps.webhooks.services.subscriptions.webhook_subscription_update", "event_types"): (
        "each one an EventType value"
    ),
    ("apps.connectors.services._common.conf", "name"): "a setting's name, by code",
    ("apps.connectors.services._common.among", "column"): "a column name, by code",
    ("apps.connectors.services.queueing.queue_on_commit", "name"): "a task name, by code",
    ("apps.connectors.services.queueing.queue_at", "name"): "a task name, by code",
    ("apps.connectors.services.queueing.queue_at_on_commit", "name"): "a task name, by code",
    ("apps.audit.services.chain_digest", "prev_hash"): "a digest, by code",
    ("apps.audit.services.event_digest", "prev_hash"): "a digest, by code",
    ("apps.audit.services.audit_search_term_normalise", "term"): (
        "a search: jitportal.middleware.SearchInputMiddleware"
    ),
    ("apps.audit.services.audit_search_term_digest", "term"): (
        "a search: jitportal.middleware.SearchInputMiddleware"
    ),
    ("apps.audit.services.audit_event_record", "action"): "an action name, by code",
    ("apps.audit.services.audit_event_record", "reason"): (
        "passed on by the services, which checked it"
    ),
    ("apps.audit.services.audit_event_record", "data"): "event data, by code",
    ("apps.chat.services.slack_account_match", "slack_user_id"): "Slack's signed payload",
    ("apps.chat.services.slack_delivery_done", "answer"): "the JSON the portal answered Slack",
    ("apps.chat.services.slack_delivery_failed", "error"): (
        "the exception the portal met, cut to 200 characters by the service"
    ),
    ("apps.crm.services.records_listed_log", "query"): (
        "a search: jitportal.middleware.SearchInputMiddleware"
    ),
}

_TEXT_ANNOTATION = re.compile(r"\bstr\b")


def _service_modules() -> Iterator[Any]:
    """Every ``services`` module or package (and its modules) of the project's apps, except
    ``apps.access`` (tests/access/test_text_limits.py)."""
    for info in pkgutil.walk_packages(apps.__path__, "apps."):
        name = info.name
        if name.startswith("apps.access") or ".migrations" in name:
            continue
        if name.endswith(".services") or ".services." in name:
            yield importlib.import_module(name)


def _public_services() -> Iterator[tuple[str, Callable[..., Any]]]:
    for module in _service_modules():
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if function.__module__ != module.__name__:
                continue  # imported here; walked in its own module
            yield f"{module.__name__}.{name}", function


def _text_parameters(function: Callable[..., Any]) -> list[str]:
    return [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if _TEXT_ANNOTATION.search(str(parameter.annotation))
    ]


def test_every_service_with_a_text_parameter_checks_it_or_is_exempt_for_a_reason():
    # given every public service of every app outside access
    services = dict(_public_services())
    assert len(services) > 40, "the walk found the services"
    # when each text parameter is looked at
    unchecked = [
        f"{path}({parameter})"
        for path, function in services.items()
        for parameter in _text_parameters(function)
        if parameter not in TEXT_SERVICES.get(function, {}) and (path, parameter) not in EXEMPT
    ]
    # then each is checked by the service, or exempt with a reason
    assert unchecked == []
    # and no exemption names a parameter that is gone
    stale = [
        key
        for key in EXEMPT
        if key[0] not in services or key[1] not in _text_parameters(services[key[0]])
    ]
    assert stale == []


def _checked_services() -> list[tuple[str, Callable[..., Any], str, TextRule]]:
    dict(_public_services())  # imports every services module, so every service is listed
    return [
        (f"{function.__module__}.{function.__name__}", function, parameter, rule)
        for function, rules in TEXT_SERVICES.items()
        if not function.__module__.startswith("apps.access")
        for parameter, rule in rules.items()
    ]


def _bad_texts(rule: TextRule) -> list[tuple[str, str]]:
    """(text, word its message holds)."""
    texts = [
        ("x" * (rule.max_length + 1), str(rule.max_length)),
        ("hold\x1b[2J", "U+001B"),
        ("case \u202e17", "U+202E"),
        ("\x7f", "U+007F"),
    ]
    if not rule.multiline:
        texts.append(("two\nlines", "U+000A"))
    return texts


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in django_apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def _arguments(function: Callable[..., Any], parameter: str, text: str) -> dict[str, Any]:
    """Every parameter without a default as None, ``parameter`` as ``text``: the check runs
    before the service reads anything else, so nothing else needs to be real."""
    values: dict[str, Any] = {
        p.name: None
        for p in inspect.signature(function).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    values[parameter] = text
    return values


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_every_checked_service_refuses_over_long_and_control_text_and_changes_nothing(
    language, dpo
):
    # given every service that checks a person's text, and the rows as they stand
    checked = _checked_services()
    assert len(checked) >= 10, "the registry lists the services"
    before = _row_counts()
    untranslated = []
    for path, function, parameter, rule in checked:
        for text, word in _bad_texts(rule):
            # when it is called with an over-long or control-character text
            with translation.override(language), pytest.raises(ValidationError) as refused:
                function(**_arguments(function, parameter, text))
            # then it is refused under that parameter, with a message saying what is wrong
            messages = refused.value.message_dict.get(parameter)
            assert messages, f"{path}({parameter}): {refused.value}"
            assert word in messages[0], (path, parameter, messages)
            if language != "en" and ("characters" in messages[0] or "Remove" in messages[0]):
                untranslated.append((path, parameter, messages[0]))
    # and the messages are in the reader's language, and nothing was written
    assert untranslated == []
    assert _row_counts() == before


@pytest.mark.django_db
def test_a_text_at_the_limit_passes_the_check(dpo):
    # given a reason exactly as long as the limit
    # when an archive of a missing asset is asked with it
    from apps.inventory.models import DataAsset
    from apps.inventory.services import data_asset_archive

    # then the text is accepted and the service goes on to look for the asset
    with pytest.raises(DataAsset.DoesNotExist):
        data_asset_archive(asset_id=2**40, actor=dpo, reason="y" * TEXT_MAX_LENGTH)


@pytest.mark.django_db
def test_a_rule_with_over_long_or_control_text_is_refused(dpo):
    # given a saved rule and the rows as they stand
    rule = make_rule(actor=dpo)
    before = _row_counts()
    for text, word in _bad_texts(TextRule()):
        changed = RetentionRule.objects.get(pk=rule.pk)
        changed.legal_reason = text
        # when it is saved through the service with that legal reason
        with pytest.raises(ValidationError) as refused:
            retention_rule_save(rule=changed, actor=dpo)
        # then it is refused under the field, and nothing is written
        assert word in refused.value.message_dict["legal_reason"][0]
        assert _row_counts() == before
    assert RetentionRule.objects.get(pk=rule.pk).legal_reason == rule.legal_reason
