"""Events per second through outbox → relay → broker → consumer with inbox, on PostgreSQL,
beside raw pika (streamed-confirm publish, manual-ack consume) in the same run.

Both sides move the same N CloudEvent bodies through a quorum queue with the same arguments,
each role in its own process; the clock runs from the first publish (or outbox insert) to the
last event acknowledged (or committed with its inbox row).
"""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pika
from sqlalchemy import func, select

from shared.config import load_settings
from shared.db.tables import new_metadata
from shared.db.uow import Database, UnitOfWork
from shared.messaging.connection import connection_parameters
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.envelope import new_event
from shared.messaging.relay import OutboxRelay
from shared.messaging.topology import consumer_queue, declare_topology, quorum_arguments
from shared.testing.infrastructure import isolated_vhost, postgres_database
from tests.bench.harness import Result

EVENTS = 20_000
SERVICE = "application"
EVENT_TYPE = "verification.approved"
RAW_QUEUE = "bench.raw"


def _data() -> dict:
    return {
        "application_id": str(uuid.uuid4()),
        "account_id": str(uuid.uuid4()),
        "case_id": str(uuid.uuid4()),
    }


def _settings(amqp_url: str, database_url: str | None = None):
    environ = {"AMQP_URL": amqp_url, "LOG_FORMAT": "text", "SSCARD_RELAY_POLL_INTERVAL": "0.005"}
    if database_url:
        environ["APPLICATION_DATABASE_URL"] = database_url
    return load_settings(SERVICE, environ)


# -- raw pika ------------------------------------------------------------------------------
def _raw_publisher(amqp_url: str, count: int, window: int = 2000) -> None:
    """Streams persistent messages with publisher confirms, keeping `window` unconfirmed."""
    settings = _settings(amqp_url)
    body = new_event(EVENT_TYPE, _data(), source="bench").to_json()
    state = {"sent": 0, "confirmed": 0}
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/cloudevents+json")

    def pump(channel):
        while state["sent"] < count and state["sent"] - state["confirmed"] < window:
            channel.basic_publish("", RAW_QUEUE, body, properties)
            state["sent"] += 1

    def on_confirm(frame):
        tag = frame.method.delivery_tag
        state["confirmed"] = tag if frame.method.multiple else max(state["confirmed"], tag)
        if state["confirmed"] >= count:
            connection.close()
        else:
            pump(channel_holder[0])

    channel_holder = []

    def on_channel(channel):
        channel_holder.append(channel)
        channel.confirm_delivery(on_confirm, callback=lambda _f: pump(channel))

    connection = pika.SelectConnection(
        connection_parameters(settings, "bench-raw-publisher"),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, _r: c.ioloop.stop(),
    )
    connection.ioloop.start()


def _raw_consumer(amqp_url: str, count: int, done) -> None:
    settings = _settings(amqp_url)
    connection = pika.BlockingConnection(connection_parameters(settings, "bench-raw-consumer"))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=settings.prefetch)
    for seen, (method, _properties, _body) in enumerate(channel.consume(RAW_QUEUE), start=1):
        channel.basic_ack(method.delivery_tag)
        if seen == count:
            break
    done.value = time.perf_counter()
    connection.close()


def measure_raw(amqp_url: str, count: int) -> float:
    settings = _settings(amqp_url)
    connection = pika.BlockingConnection(connection_parameters(settings, "bench-setup"))
    connection.channel().queue_declare(
        RAW_QUEUE, durable=True, arguments=quorum_arguments(settings, SERVICE)
    )
    connection.close()
    done = multiprocessing.Value("d", 0.0)
    consumer = multiprocessing.Process(target=_raw_consumer, args=(amqp_url, count, done))
    consumer.start()
    time.sleep(0.5)  # let the consumer attach; the clock starts after this
    start = time.perf_counter()
    publisher = multiprocessing.Process(target=_raw_publisher, args=(amqp_url, count))
    publisher.start()
    publisher.join()
    consumer.join()
    return count / (done.value - start)


# -- outbox → relay → consumer with inbox ------------------------------------------------
METADATA = new_metadata()


def _producer(amqp_url: str, database_url: str, count: int, per_transaction: int = 100) -> None:
    database = Database(database_url, METADATA)
    for _ in range(count // per_transaction):
        with UnitOfWork(database, "verification") as uow:  # its type's owner (issue 17)
            for _ in range(per_transaction):
                uow.add_event(EVENT_TYPE, _data())
            uow.commit()


def _relay(amqp_url: str, database_url: str, stop) -> None:
    settings = _settings(amqp_url, database_url)
    relay = OutboxRelay(settings, Database(database_url, METADATA))
    relay.publisher.start()
    while not stop.is_set():
        if relay.relay_once() < settings.relay_batch_size:
            stop.wait(settings.relay_poll_interval)
    relay.publisher.close()


def _consumer(amqp_url: str, database_url: str, stop) -> None:
    settings = _settings(amqp_url, database_url)
    runner = ConsumerRunner(
        settings, Database(database_url, METADATA), {EVENT_TYPE: lambda _uow, _event: None}
    )
    import threading

    threading.Thread(target=lambda: (stop.wait(), runner.stop()), daemon=True).start()
    runner.run()


def _inbox_count(database: Database) -> int:
    table = database.inbox.table
    with database.session_factory() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def measure_sscard(amqp_url: str, database_url: str, count: int, *, prefill: bool) -> float:
    settings = _settings(amqp_url, database_url)
    database = Database(database_url, METADATA)
    METADATA.create_all(database.engine)
    connection = pika.BlockingConnection(connection_parameters(settings, "bench-setup"))
    declare_topology(connection.channel(), settings)
    connection.channel().queue_purge(consumer_queue(SERVICE))
    connection.close()
    stop = multiprocessing.Event()
    if prefill:
        _producer(amqp_url, database_url, count)
    consumer = multiprocessing.Process(target=_consumer, args=(amqp_url, database_url, stop))
    consumer.start()
    time.sleep(1.0)  # consumer attached before the clock starts
    start = time.perf_counter()
    relay = multiprocessing.Process(target=_relay, args=(amqp_url, database_url, stop))
    relay.start()
    if not prefill:
        _producer(amqp_url, database_url, count)
    while _inbox_count(database) < count:
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    stop.set()
    relay.join(30)
    consumer.join(30)
    database.dispose()
    return count / elapsed


def run() -> list[Result]:
    with isolated_vhost("bench-raw") as raw_url:
        raw = measure_raw(raw_url, EVENTS)
    with isolated_vhost("bench-outbox") as url, postgres_database("bench") as database_url:
        ours = measure_sscard(url, database_url, EVENTS, prefill=False)
    with isolated_vhost("bench-outbox") as url, postgres_database("bench") as database_url:
        drained = measure_sscard(url, database_url, EVENTS, prefill=True)
    ratio = ours / raw
    return [
        Result(
            name=f"outbox → relay → consumer with inbox ({EVENTS:,} events, PostgreSQL)",
            unit="events/s",
            value=ours,
            baseline_name="raw pika (streamed confirms, manual-ack consume)",
            baseline=raw,
            target="≥ 50% of raw pika",
            met=ratio >= 0.5,
            details={"relay + consumer draining a pre-filled outbox": f"{drained:,.0f} events/s"},
        )
    ]
