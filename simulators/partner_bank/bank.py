"""The bank: one AMQP connection, one channel consuming every `print.<bank_code>` queue and one
publishing status reports with publisher confirms.

A print message is acknowledged only after its last report was confirmed by the broker. Until
then it stays unacknowledged: if the bank crashes or loses the connection half-way, the broker
delivers the message again and the bank repeats its reports (with the same event ids, so sscard
recognises the repeats). Nothing is lost, and nothing is done twice in effect.

The delays between reports are timers on the connection (`call_later`), never sleeps in a
callback, so the connection keeps answering heartbeats while cards are "in production".
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import random
import signal
import threading
import time
from dataclasses import dataclass, field

import pika
import requests
from pika.exceptions import AMQPError, ChannelClosedByBroker, NackError, UnroutableError

from simulators.partner_bank import commands, reports
from simulators.partner_bank.settings import BankSettings
from simulators.partner_bank.signatures import KeysUnavailable, SigningKeys, signature_is_valid

log = logging.getLogger("partner_bank")

PRINT_REQUEST_TYPE = "card.print_request"
CONNECTION_ERRORS = (AMQPError, ConnectionError, OSError)


def print_queue(bank_code: str) -> str:
    return f"print.{bank_code}"


@dataclass
class Stats:
    """What the control endpoint shows."""

    connected: bool = False
    banks: list[str] = field(default_factory=list)
    received: int = 0
    verified: int = 0
    bad_signatures: int = 0
    rejected: int = 0
    # Signed commands (block, unblock, cancel) verified and confirmed.
    commands_confirmed: int = 0
    in_production: int = 0
    reported: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_report(self, status: str) -> None:
        with self.lock:
            self.reported[status] = self.reported.get(status, 0) + 1

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "connected": self.connected,
                "banks": list(self.banks),
                "received": self.received,
                "verified": self.verified,
                "bad_signatures": self.bad_signatures,
                "rejected": self.rejected,
                "commands_confirmed": self.commands_confirmed,
                "in_production": self.in_production,
                "reported": dict(self.reported),
            }


@dataclass
class Job:
    """One print message on its way through production."""

    bank_code: str
    delivery_tag: int
    message: dict
    steps: list[tuple[str, str | None, str | None]]  # (status, reason, bank account)
    next_step: int = 0

    @property
    def card_id(self) -> str:
        return str(self.message["data"]["card_id"])

    @property
    def card_serial(self) -> str | None:
        return self.message["data"].get("card_serial")


class MalformedPrintMessage(Exception):
    pass


class PartnerBank:
    def __init__(
        self,
        settings: BankSettings,
        keys: SigningKeys | None = None,
        stats: Stats | None = None,
        *,
        bank_code: str | None = None,
        amqp_url: str | None = None,
    ) -> None:
        # The settings are shared (the control endpoint changes them while banks run); a bank
        # with a broker user of its own has its own code and URL besides.
        self.settings = settings
        self._own_code = bank_code
        self._amqp_url = amqp_url or settings.amqp_url
        self.keys = keys or SigningKeys(settings.printing_url)
        self.stats = stats or Stats()
        self._stop = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._consume_channel = None
        self._publish_channel = None
        self._consuming: set[str] = set()

    # -- lifecycle --------------------------------------------------------------------------
    def run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._session()
                delay = 0.5
            except CONNECTION_ERRORS as exc:
                self.stats.connected = False
                if self._stop.is_set():
                    break
                log.warning("lost the broker (%s); reconnecting in %.1fs", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 15.0)

    def stop(self, *_args) -> None:
        self._stop.set()
        connection = self._connection
        if connection is not None:
            # Raises when the connection is closed already: nothing is waiting then.
            with contextlib.suppress(Exception):
                connection.add_callback_threadsafe(lambda: None)

    def _session(self) -> None:
        params = pika.URLParameters(self._amqp_url)
        params.heartbeat = self.settings.heartbeat
        params.blocked_connection_timeout = 60
        params.client_properties = {"connection_name": "partner-bank-simulator"}
        connection = pika.BlockingConnection(params)
        self._connection = connection
        self._consuming = set()
        try:
            self._consume_channel = connection.channel()
            self._consume_channel.basic_qos(prefetch_count=self.settings.prefetch)
            self._publish_channel = connection.channel()
            self._publish_channel.confirm_delivery()
            self.stats.connected = True
            next_refresh = 0.0
            while not self._stop.is_set():
                if time.monotonic() >= next_refresh:
                    complete = self._subscribe_to_banks()
                    # Look again soon while the printing service or a queue is not there yet.
                    next_refresh = time.monotonic() + (
                        self.settings.bank_refresh_seconds
                        if complete
                        else self.settings.retry_seconds
                    )
                connection.process_data_events(time_limit=0.5)
        finally:
            self.stats.connected = False
            self._connection = None
            if connection.is_open:
                with contextlib.suppress(*CONNECTION_ERRORS):
                    connection.close()

    # -- which queues -----------------------------------------------------------------------
    def bank_codes(self) -> list[str]:
        if self._own_code:
            return [self._own_code]
        if self.settings.bank_codes:
            return list(self.settings.bank_codes)
        try:
            response = requests.get(f"{self.settings.printing_url}/api/v1/banks", timeout=(3, 5))
            response.raise_for_status()
            return [bank["bank_code"] for bank in response.json()["items"]]
        except (requests.RequestException, ValueError, KeyError) as exc:
            log.warning("cannot list banks at %s: %s", self.settings.printing_url, exc)
            return []

    def _queue_exists(self, queue: str) -> bool:
        """A passive declare; sscard declares the queues, the bank only checks for them."""
        assert self._connection is not None
        probe = self._connection.channel()
        try:
            probe.queue_declare(queue, passive=True)
        except ChannelClosedByBroker:
            return False
        probe.close()
        return True

    def _subscribe_to_banks(self) -> bool:
        """Consumes every known bank's queue; False when some are missing for now."""
        codes = self.bank_codes()
        complete = bool(codes)
        for code in codes:
            queue = print_queue(code)
            if code in self._consuming:
                continue
            if not self._queue_exists(queue):
                log.info("queue %s does not exist yet; will look again", queue)
                complete = False
                continue
            self._consume_channel.basic_consume(
                queue,
                lambda channel, method, properties, body, code=code: self._on_print_message(
                    code, method, properties, body
                ),
            )
            self._consuming.add(code)
            log.info("consuming %s", queue)
        with self.stats.lock:
            # Banks with users of their own each run a PartnerBank; they share the stats.
            self.stats.banks = sorted(set(self.stats.banks) | self._consuming)
        return complete

    # -- a print message arrives ------------------------------------------------------------
    def _on_print_message(self, bank_code: str, method, _properties, body: bytes) -> None:
        with self.stats.lock:
            self.stats.received += 1
        try:
            message = self._parse(body)
        except MalformedPrintMessage as exc:
            # Nobody to report to: sscard's dead-letter queue keeps it for an operator.
            log.error("malformed print message on %s rejected: %s", print_queue(bank_code), exc)
            with self.stats.lock:
                self.stats.rejected += 1
            self._consume_channel.basic_reject(method.delivery_tag, requeue=False)
            return
        if message["type"] in commands.COMMAND_TYPES:
            self._carry_out(bank_code, method.delivery_tag, message)
            return
        self._start_production(bank_code, method.delivery_tag, message)

    @staticmethod
    def _parse(body: bytes) -> dict:
        try:
            message = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedPrintMessage(f"not JSON: {exc}") from None
        known = (PRINT_REQUEST_TYPE, *commands.COMMAND_TYPES)
        if not isinstance(message, dict) or message.get("type") not in known:
            raise MalformedPrintMessage("not a card.print_request or card command CloudEvent")
        data = message.get("data")
        if not isinstance(data, dict) or not data.get("card_id"):
            raise MalformedPrintMessage("no data.card_id")
        return message

    def _start_production(self, bank_code: str, delivery_tag: int, message: dict) -> None:
        try:
            problem = self._check(bank_code, message)
        except KeysUnavailable as exc:
            log.warning("%s; card %s waits", exc, message["data"]["card_id"])
            self._connection.call_later(
                self.settings.retry_seconds,
                lambda: self._start_production(bank_code, delivery_tag, message),
            )
            return
        if problem:
            with self.stats.lock:
                self.stats.bad_signatures += 1
            log.warning("card %s: %s", message["data"]["card_id"], problem)
            steps = [("print_failed", problem, None)]
        elif random.random() < self.settings.failure_rate:
            steps = [("print_failed", "simulated printer fault: card stock jammed", None)]
        else:
            account = reports.masked(reports.new_account_number(bank_code))
            steps = [
                ("printed", None, account),
                ("shipped", None, None),
                ("ready_for_pickup", None, None),
            ]
        with self.stats.lock:
            self.stats.in_production += 1
        job = Job(bank_code, delivery_tag, message, steps)
        self._connection.call_later(self.settings.step_delay_seconds, lambda: self._step(job))

    def _check(self, bank_code: str, message: dict) -> str | None:
        """None when the message is genuine and for us; else why it is not."""
        data = message["data"]
        signature, key_id = message.get("signature"), message.get("signaturekeyid")
        if not signature or not key_id:
            return "signature verification failed: the message is not signed"
        key = self.keys.key(str(key_id))
        if key is None:
            return f"signature verification failed: unknown signing key {key_id}"
        if not signature_is_valid(key, data, str(signature)):
            return "signature verification failed: data does not match its signature"
        if data.get("bank_code") != bank_code:
            return f"print message for bank {data.get('bank_code')} reached {bank_code}"
        photo = data.get("photo") or {}
        try:
            content = base64.b64decode(photo.get("data_base64", ""), validate=True)
        except (binascii.Error, ValueError):
            return "the photo is not valid base64"
        if hashlib.sha256(content).hexdigest() != photo.get("sha256"):
            return "the photo does not match its sha256"
        with self.stats.lock:
            self.stats.verified += 1
        return None

    # -- a signed command about a card after activation ------------------------------------
    def _carry_out(self, bank_code: str, delivery_tag: int, message: dict) -> None:
        """Checks the command's signature; a genuine one is confirmed (then acknowledged), a
        forged one rejected to sscard's dead-letter queue and never confirmed."""
        try:
            problem = commands.check(self.keys, bank_code, message)
        except KeysUnavailable as exc:
            log.warning("%s; command %s waits", exc, message.get("id"))
            self._connection.call_later(
                self.settings.retry_seconds,
                lambda: self._carry_out(bank_code, delivery_tag, message),
            )
            return
        if problem:
            log.warning("%s %s refused: %s", message["type"], message.get("id"), problem)
            with self.stats.lock:
                self.stats.bad_signatures += 1
            self._consume_channel.basic_reject(delivery_tag, requeue=False)
            return
        with self.stats.lock:
            self.stats.verified += 1
        event = commands.confirmation(bank_code, message)
        if not self._publish(bank_code, event):
            self._connection.call_later(
                self.settings.retry_seconds,
                lambda: self._carry_out(bank_code, delivery_tag, message),
            )
            return
        self.stats.count_report(event["data"]["status"])
        with self.stats.lock:
            self.stats.commands_confirmed += 1
        log.info("card %s: %s confirmed", message["data"]["card_id"], message["type"])
        self._consume_channel.basic_ack(delivery_tag)

    # -- production steps -------------------------------------------------------------------
    def _step(self, job: Job) -> None:
        status, reason, account = job.steps[job.next_step]
        event = reports.status_report(
            bank_code=job.bank_code,
            card_id=job.card_id,
            card_serial=job.card_serial,
            status=status,
            reason=reason,
            bank_account_masked=account,
            print_message=job.message,
        )
        if not self._publish(job.bank_code, event):
            self._connection.call_later(self.settings.retry_seconds, lambda: self._step(job))
            return
        self.stats.count_report(status)
        log.info("card %s: reported %s", job.card_id, status)
        job.next_step += 1
        if job.next_step < len(job.steps):
            self._connection.call_later(self.settings.step_delay_seconds, lambda: self._step(job))
            return
        # Every report is with the broker: only now is the print message done with.
        self._consume_channel.basic_ack(job.delivery_tag)
        with self.stats.lock:
            self.stats.in_production -= 1

    def _publish(self, bank_code: str, event: dict) -> bool:
        """True once the broker confirmed the report (persistent, routed)."""
        status = event["data"]["status"]
        properties = pika.BasicProperties(
            content_type=reports.CLOUDEVENTS_JSON,
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=event["id"],
            type=reports.REPORT_TYPE,
            app_id=f"partner-bank-{bank_code}",
            timestamp=int(time.time()),
        )
        try:
            self._publish_channel.basic_publish(
                reports.FEEDBACK_EXCHANGE,
                reports.routing_key(bank_code, status),
                reports.encode(event),
                properties,
                mandatory=True,
            )
        except (UnroutableError, NackError) as exc:
            log.warning(
                "report %s for card %s not taken (%s); retrying", status, event["subject"], exc
            )
            return False
        return True


def banks_for(settings: BankSettings) -> list[PartnerBank]:
    """One bank per own broker user when they are given, else one for every bank code on
    `AMQP_URL` (a development broker's all-powerful user)."""
    if not settings.bank_urls:
        return [PartnerBank(settings)]
    keys = SigningKeys(settings.printing_url)
    stats = Stats()
    return [
        PartnerBank(settings, keys, stats, bank_code=code, amqp_url=url)
        for code, url in sorted(settings.bank_urls.items())
    ]


def main() -> None:
    from simulators.partner_bank.control import ControlServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s partner-bank %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    settings = BankSettings.from_environment()
    banks = banks_for(settings)
    control = ControlServer(settings, banks[0].stats).start()

    def stop(*_args) -> None:
        for bank in banks:
            bank.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("health and control on http://%s:%d", settings.host, settings.port)
    threads = [
        threading.Thread(target=bank.run, name=f"bank-{index}", daemon=True)
        for index, bank in enumerate(banks[1:], start=1)
    ]
    for thread in threads:
        thread.start()
    try:
        banks[0].run()
    finally:
        stop()
        for thread in threads:
            thread.join(10)
        control.stop()
