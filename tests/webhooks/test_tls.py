"""HTTPS for real: the try connects to the checked address and TLS still checks the
certificate for the host name (an internal CA given by WEBHOOKS["CA_FILE"])."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import override_settings

from apps.webhooks.models import DeliveryError, WebhookDelivery
from apps.webhooks.services import (
    DELIVERED,
    RETRY,
    webhook_delivery_create,
    webhook_delivery_send,
    webhook_subscription_create,
)
from apps.webhooks.signing import webhook_signature_verify
from tests.webhooks.conftest import LOCAL, serving

pytestmark = pytest.mark.django_db


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(subject, issuer, key, signer, *, ca: bool, names=()):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def pki(tmp_path):
    """A CA (its PEM file) and a function making a server TLS context for the given names."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("Test CA"), _name("Test CA"), ca_key, ca_key, ca=True)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def server_context(*names: x509.GeneralName):
        import ssl

        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(_name("receiver"), ca.subject, key, ca_key, ca=False, names=names)
        chain = tmp_path / f"server-{len(list(tmp_path.iterdir()))}.pem"
        chain.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context

    return str(ca_file), server_context


LOCALHOST = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))


def _send_one(dpo, url):
    sub, secret = webhook_subscription_create(
        name="TLS", url=url, event_types=[], actor=dpo, timeout_seconds=5
    )
    delivery = webhook_delivery_create(
        subscription_id=sub.pk, event_type="test.tls", data={"n": 1}, idempotency_key="tls-1"
    )
    return secret, webhook_delivery_send(delivery_id=delivery.pk), delivery


def test_a_delivery_over_https_to_a_host_name_verifies(dpo, pki):
    # Given an HTTPS receiver whose certificate our CA issued for localhost
    ca_file, server_context = pki
    with (
        serving(server_context(*LOCALHOST), host="localhost") as box,
        override_settings(WEBHOOKS={**LOCAL, "ALLOW_HTTP": False, "CA_FILE": ca_file}),
    ):
        # When a delivery is sent to https://localhost:<port>/
        secret, outcome, _delivery = _send_one(dpo, box.url)
    # Then TLS checked the name, the receiver got it and the signature verifies
    assert outcome == DELIVERED
    [got] = box.received
    assert got.headers["Host"] == box.url.split("/")[2]
    assert webhook_signature_verify(
        secret=secret,
        timestamp=got.headers["X-Jitportal-Timestamp"],
        body=got.body,
        signature=got.headers["X-Jitportal-Signature"],
    )
    assert json.loads(got.body)["type"] == "test.tls"


@pytest.mark.parametrize("trust_our_ca", [True, False])
def test_a_certificate_for_another_name_or_from_another_ca_is_refused(dpo, pki, trust_our_ca):
    # Given a receiver whose certificate names another host, or a CA the portal does not trust
    ca_file, server_context = pki
    names = (x509.DNSName("other.example"),) if trust_our_ca else LOCALHOST
    conf = {**LOCAL, "ALLOW_HTTP": False, "CA_FILE": ca_file if trust_our_ca else ""}
    with serving(server_context(*names), host="localhost") as box, override_settings(WEBHOOKS=conf):
        _secret, outcome, delivery = _send_one(dpo, box.url)
    # Then nothing is sent and the try fails as a certificate problem, to be retried
    assert outcome == RETRY
    assert box.received == []
    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert delivery.error == DeliveryError.TLS
