"""The broker itself enforces who may say what (issue 17), on the real RabbitMQ: each service
and each partner bank connects as its own user, created by `sscardctl broker setup` and
`sscardctl banks onboard` in this test's own vhost (and removed with it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from shared.config import Settings, load_settings
from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import Outcome
from shared.messaging.dlq import list_dead_letters
from shared.messaging.envelope import new_event
from shared.messaging.topology import declare_print_queue
from shared.testing.infrastructure import isolated_vhost, vhost_user_prefix
from shared.testing.running import running_consumer
from shared.testing.waiting import event_waiter, wait_until
from sscardctl import broker
from tests.shared.integration import effects

BANKS = ("ICBC", "CCB")


@dataclass
class Users:
    admin: Settings
    environ: dict[str, str]
    urls: dict[str, str]  # service or bank code → its own AMQP URL


@pytest.fixture(scope="module")
def users(tmp_path_factory) -> Iterator[Users]:
    """Every service's user and two banks' users, on a vhost of this module's own."""
    with isolated_vhost("permissions") as amqp_url:
        environ = {
            "AMQP_URL": amqp_url,
            "SSCARD_BROKER_USER_PREFIX": vhost_user_prefix(amqp_url),
            "SSCARD_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        }
        admin = load_settings("sscardctl", environ)
        urls = {
            credential.name.removesuffix("_AMQP_URL").lower(): credential.amqp_url
            for credential in broker.setup(environ)
        }
        connection = pika.BlockingConnection(connection_parameters(admin, "test-banks"))
        for code in BANKS:
            declare_print_queue(connection.channel(), admin, code)
            credential, _password = broker.onboard_bank(code, environ)
            urls[code] = credential.amqp_url
        connection.close()
        yield Users(admin, environ, urls)


def refused(url: str, action) -> ChannelClosedByBroker:
    """Runs `action(channel)` as the URL's user; returns the broker's refusal."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(ChannelClosedByBroker) as caught:
            action(channel)
        assert not channel.is_open
        return caught.value
    finally:
        if connection.is_open:
            connection.close()


def assert_access_refused(url: str, action) -> None:
    error = refused(url, action)
    assert error.reply_code == 403
    assert error.reply_text.startswith("ACCESS_REFUSED")


def allowed(url: str, action) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        action(channel)
        assert channel.is_open
    finally:
        connection.close()


def publish(exchange: str, routing_key: str, body: bytes = b"{}"):
    properties = pika.BasicProperties(message_id=str(uuid.uuid4()), delivery_mode=2)
    return lambda channel: channel.basic_publish(
        exchange, routing_key, body, properties, mandatory=True
    )


def test_a_bank_cannot_read_another_banks_queue(users):
    assert_access_refused(users.urls["ICBC"], lambda channel: channel.basic_get("print.CCB"))
    assert_access_refused(
        users.urls["ICBC"], lambda channel: channel.basic_consume("print.CCB", print)
    )
    # Nor any service's queue.
    assert_access_refused(users.urls["ICBC"], lambda channel: channel.basic_get("printing.events"))


def test_a_bank_cannot_publish_an_event_on_sscard_events(users):
    for routing_key in ("verification.approved", "card.printed", "application.submitted"):
        assert_access_refused(users.urls["ICBC"], publish("sscard.events", routing_key))


def test_a_bank_cannot_publish_feedback_for_another_bank(users):
    assert_access_refused(users.urls["ICBC"], publish("sscard.bank-feedback", "bank.CCB.printed"))
    # Nor anything but a status of its own, nor on any other exchange.
    assert_access_refused(users.urls["ICBC"], publish("sscard.bank-feedback", "bank.ICBC.x"))
    assert_access_refused(users.urls["ICBC"], publish("sscard.print", "ICBC"))
    assert_access_refused(users.urls["ICBC"], publish("", "printing.events"))


def test_a_bank_configures_nothing(users):
    assert_access_refused(
        users.urls["ICBC"], lambda channel: channel.queue_declare("print.ICBC.mine")
    )
    assert_access_refused(
        users.urls["ICBC"],
        lambda channel: channel.queue_bind("print.ICBC", "sscard.print", routing_key="CCB"),
    )


def test_a_bank_does_what_docs_banks_md_says_it_may(users):
    def work(channel):
        channel.queue_declare("print.ICBC", passive=True)
        channel.basic_get("print.ICBC")
        publish("sscard.bank-feedback", "bank.ICBC.printed")(channel)  # confirmed, routed

    allowed(users.urls["ICBC"], work)


def test_the_application_service_cannot_publish_verification_approved(users):
    assert_access_refused(
        users.urls["application"], publish("sscard.events", "verification.approved")
    )
    # Its own types it can; and it reads no other service's queue, nor a bank's.
    allowed(users.urls["application"], publish("sscard.events", "application.cancelled"))
    assert_access_refused(
        users.urls["application"], lambda channel: channel.basic_get("verification.events")
    )
    assert_access_refused(users.urls["application"], lambda channel: channel.basic_get("print.CCB"))
    assert_access_refused(users.urls["application"], publish("sscard.print", "ICBC"))
    # Nor can it delete what others rely on.
    assert_access_refused(
        users.urls["application"], lambda channel: channel.queue_delete("verification.events")
    )
    assert_access_refused(
        users.urls["application"], lambda channel: channel.exchange_delete("sscard.events")
    )


def test_only_verification_may_announce_a_verdict(users):
    allowed(users.urls["verification"], publish("sscard.events", "verification.approved"))
    for service in ("registration", "printing", "notification"):
        assert_access_refused(
            users.urls[service], publish("sscard.events", "verification.approved")
        )


def test_an_event_whose_source_is_not_its_types_owner_is_parked_with_the_reason(service, tmp_path):
    settings, database = service
    environ = {
        "AMQP_URL": settings.amqp_url,
        "SSCARD_BROKER_USER_PREFIX": vhost_user_prefix(settings.amqp_url),
        "SSCARD_VAR_DIR": str(tmp_path / "var"),
    }
    urls = {credential.name: credential.amqp_url for credential in broker.setup(environ)}
    own = settings.with_overrides(amqp_url=urls["APPLICATION_AMQP_URL"])
    # verification.approved from the verification service's user, but saying it comes from
    # the application service; and one smuggled inside a type printing may publish.
    mislabelled = new_event("verification.approved", effects.approved_data(), source="application")
    smuggled = new_event("verification.approved", effects.approved_data(), source="verification")
    genuine = effects.sample_event()
    verification = settings.with_overrides(amqp_url=urls["VERIFICATION_AMQP_URL"])
    printing = settings.with_overrides(amqp_url=urls["PRINTING_AMQP_URL"])
    with (
        running_consumer(own, database, effects.HANDLERS) as runner,
        event_waiter(runner, outcome=Outcome.DEAD_LETTER, count=2) as parked,
        event_waiter(runner, event_id=genuine.id, outcome=Outcome.HANDLED) as handled,
    ):
        effects.publish_event(verification, mislabelled)
        effects.publish_raw(
            printing, smuggled.to_json(), routing_key="outlet.upserted", message_id=smuggled.id
        )
        effects.publish_event(verification, genuine)
        handled.wait(20)
        parked.wait(20)
    assert effects.effect_count(database, genuine.id) == 1
    assert effects.effect_count(database, mislabelled.id) == 0
    assert effects.effect_count(database, smuggled.id) == 0
    letters = wait_until(
        lambda: len(found := list_dead_letters(settings, "application")) == 2 and found,
        what="two parked events",
    )
    errors = {letter.message_id: letter.error for letter in letters}
    assert errors[mislabelled.id] == (
        "forged or misrouted event: source '/sscard/application' is not the owner of "
        "verification.approved (/sscard/verification)"
    )
    assert errors[smuggled.id] == (
        "forged or misrouted event: an event of type verification.approved arrived with "
        "routing key 'outlet.upserted'"
    )


def test_offboarding_removes_the_bank_and_closes_its_connections(users):
    # Last in this module: it takes CCB's user away and changes ICBC's password.
    environ = users.environ
    connection = pika.BlockingConnection(pika.URLParameters(users.urls["CCB"]))
    assert broker.offboard_bank("CCB", environ)
    wait_until(lambda: not _still_open(connection), what="the bank's connection closed")
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.URLParameters(users.urls["CCB"]))
    assert not broker.offboard_bank("CCB", environ)
    # Onboarding again is how a password rotates: the old one stops working.
    credential, _password = broker.onboard_bank("ICBC", environ)
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.URLParameters(users.urls["ICBC"]))
    allowed(credential.amqp_url, lambda channel: channel.basic_get("print.ICBC"))


def _still_open(connection) -> bool:
    try:
        connection.process_data_events(time_limit=0.1)
    except pika.exceptions.AMQPError:
        return False
    return connection.is_open
