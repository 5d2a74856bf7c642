"""`GET /api/v1/progress`: what the website, WeChat and Alipay may show, and what they may not
learn."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import select

from services.application.dao import (
    dao_count_request,
    dao_get_application,
)
from services.application.domain.progress import ProgressFact
from services.application.domain.rate_window import ClientWindows
from services.application.domain.status import Status
from services.application.models import RateLimitWindow
from services.application.use_cases.progress import record_progress
from shared.db.uow import UnitOfWork
from shared.time import format_time
from tests.application.factories import (
    add_outlet,
    at,
    create_application,
    new_id_number,
    submitted_application,
)

# Rate-limit windows in these tests are a day long, so none can roll over mid-test.
DAY = "86400"
PROGRESS = "/api/v1/progress"


@pytest.fixture(scope="module")
def outlet(service) -> dict:
    return add_outlet(service.database, name="工商银行朝阳支行", address="北京市朝阳区建国路1号")


def test_by_acceptance_number_and_name_only_status_time_and_outlet(client, people, outlet):
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    response = client.get(
        PROGRESS,
        query_string={"acceptance_number": application["acceptance_number"], "name": citizen.name},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "updated_at", "outlet"}
    assert body["status"] == "submitted"
    assert body["updated_at"].endswith("Z")
    assert body["outlet"] == {"name": "工商银行朝阳支行", "address": "北京市朝阳区建国路1号"}
    text = response.get_data(as_text=True)
    for private in (
        citizen.id_number,
        citizen.phone,
        application["application_id"],
        citizen.account_id,
    ):
        assert private not in text


def test_by_id_number_and_name_shows_the_newest_application(client, people, outlet):
    citizen = people.citizen()
    first = create_application(client, citizen, outlet)
    client.post(f"/api/v1/applications/{first['application_id']}/cancel", headers=citizen.headers)
    query = {"id_number": citizen.id_number.lower(), "name": citizen.name}
    assert client.get(PROGRESS, query_string=query).get_json()["status"] == "cancelled"
    create_application(client, citizen, outlet)
    assert client.get(PROGRESS, query_string=query).get_json()["status"] == "draft"


def test_an_acceptance_number_is_forgiven_case_and_hyphens(client, people, outlet):
    citizen = people.citizen()
    number = submitted_application(client, citizen, outlet)["acceptance_number"]
    typed = number.replace("-", " ").lower()
    response = client.get(PROGRESS, query_string={"acceptance_number": typed, "name": citizen.name})
    assert response.status_code == 200


def test_a_repeated_key_counts_once_and_broken_encoding_is_a_plain_miss(client, people, outlet):
    citizen = people.citizen()
    number = submitted_application(client, citizen, outlet)["acceptance_number"]
    # The first value counts, as for every other query in the API (request.args.get).
    repeated = [("name", citizen.name), ("name", "李娜"), ("acceptance_number", number)]
    assert client.get(PROGRESS, query_string=repeated).status_code == 200
    swapped = [("name", "李娜"), ("name", citizen.name), ("acceptance_number", number)]
    assert client.get(PROGRESS, query_string=swapped).status_code == 404
    # Bytes that are not UTF-8 stay percent-encoded, so the name simply does not match.
    broken = client.get(f"{PROGRESS}?acceptance_number={number}&name=%FF%FE")
    assert broken.status_code == 404
    assert broken.mimetype == "application/problem+json"


def test_progress_follows_the_events(service, client, people, outlet):
    citizen = people.citizen()
    application = submitted_application(client, citizen, outlet)
    with UnitOfWork(service.database, "application") as uow:
        stored = dao_get_application(uow.session, application["application_id"])
        fact = ProgressFact(Status.APPROVED, at(30), "approved")
        record_progress(
            uow,
            service.deps,
            application_id=stored.application_id,
            account_id=stored.account_id,
            event_id=str(uuid.uuid4()),
            event_type="verification.approved",
            fact=fact,
        )
        uow.commit()
    body = client.get(
        PROGRESS,
        query_string={"acceptance_number": application["acceptance_number"], "name": citizen.name},
    ).get_json()
    assert body["status"] == "approved"
    assert body["updated_at"] == format_time(at(30))


def test_an_outlet_that_moves_is_shown_at_its_new_address(service, client, people):
    outlet = add_outlet(service.database, name="建设银行海淀支行", address="海淀区旧址1号")
    citizen = people.citizen()
    number = submitted_application(client, citizen, outlet)["acceptance_number"]
    query = {"acceptance_number": number, "name": citizen.name}
    assert client.get(PROGRESS, query_string=query).get_json()["outlet"]["address"] == (
        "海淀区旧址1号"
    )
    add_outlet(
        service.database, **{**outlet, "name": "建设银行海淀分行", "address": "海淀区新址9号"}
    )
    assert client.get(PROGRESS, query_string=query).get_json()["outlet"] == {
        "name": "建设银行海淀分行",
        "address": "海淀区新址9号",
    }


def test_every_kind_of_mismatch_looks_the_same(client, people, outlet):
    """Unknown ID number, known ID number with the wrong name, unknown acceptance number, known
    acceptance number with the wrong name: one answer, so nobody learns who has applied."""
    citizen = people.citizen()
    number = submitted_application(client, citizen, outlet)["acceptance_number"]
    unknown_number = number[:-6] + ("222222" if not number.endswith("222222") else "333333")
    queries = [
        {"id_number": new_id_number(), "name": citizen.name},
        {"id_number": citizen.id_number, "name": citizen.name + "x"},
        {"acceptance_number": unknown_number, "name": citizen.name},
        {"acceptance_number": number, "name": "张三"},
    ]
    responses = [client.get(PROGRESS, query_string=query) for query in queries]
    assert {response.status_code for response in responses} == {404}
    assert len({response.get_data() for response in responses}) == 1
    header_sets = {
        tuple(sorted((k, v) for k, v in r.headers.items() if k not in ("X-Request-ID", "Date")))
        for r in responses
    }
    assert len(header_sets) == 1


@pytest.mark.parametrize(
    "query",
    [
        {"name": "王芳"},
        {
            "id_number": "11010519491231002X",
            "acceptance_number": "SSC-20261125-7K3Q9M",
            "name": "王芳",
        },
        {"id_number": "11010519491231002X"},
        {"id_number": "110105194912310021", "name": "王芳"},
        {"acceptance_number": "not-a-number", "name": "王芳"},
    ],
)
def test_malformed_look_ups_are_422(client, query):
    response = client.get(PROGRESS, query_string=query)
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_look_ups_are_rate_limited_per_client_across_workers(service, people, outlet):
    """Two app instances on one database stand for two gunicorn workers."""
    limited = [
        service.with_settings(
            APPLICATION_PROGRESS_RATE_LIMIT="3", APPLICATION_PROGRESS_RATE_WINDOW_SECONDS=DAY
        )
        for _ in range(2)
    ]
    clients = [instance.client() for instance in limited]
    query = {"acceptance_number": "SSC-20261125-7K3Q9M", "name": "王芳"}
    prober = {"REMOTE_ADDR": "198.51.100.7"}
    statuses = [
        clients[i % 2].get(PROGRESS, query_string=query, environ_base=prober).status_code
        for i in range(3)
    ]
    assert statuses == [404, 404, 404]
    refused = clients[1].get(PROGRESS, query_string=query, environ_base=prober)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= int(DAY)
    assert refused.mimetype == "application/problem+json"
    # Malformed look-ups count too, and other clients are not affected.
    assert clients[0].get(PROGRESS, environ_base=prober).status_code == 429
    other = {"REMOTE_ADDR": "203.0.113.9"}
    assert clients[0].get(PROGRESS, query_string=query, environ_base=other).status_code == 404
    for instance in limited:
        instance.database.dispose()


def test_each_window_counts_from_one_and_ended_windows_are_forgotten(service):
    reads = service.deps.reads
    bucket = f"progress:{uuid.uuid4()}"
    first, second = (
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 9, 1, tzinfo=UTC),
    )
    assert [dao_count_request(reads, bucket, first) for _ in range(3)] == [1, 2, 3]
    assert dao_count_request(reads, bucket, first, 40) == 43
    assert dao_count_request(reads, bucket, second) == 1
    with service.database.session_factory() as session:
        left = session.scalars(select(RateLimitWindow.window_start)).all()
    assert first not in left and second in left


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(service):
    proxied = service.with_settings(
        APPLICATION_PROGRESS_RATE_LIMIT="1",
        APPLICATION_PROGRESS_RATE_WINDOW_SECONDS=DAY,
        APPLICATION_TRUSTED_PROXY_HOPS="1",
    )
    client = proxied.client()
    query = {"acceptance_number": "SSC-20261125-7K3Q9M", "name": "王芳"}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    first = client.get(
        PROGRESS, query_string=query, environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.1"}
    )
    second = client.get(
        PROGRESS, query_string=query, environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.2"}
    )
    again = client.get(
        PROGRESS, query_string=query, environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.1"}
    )
    assert (first.status_code, second.status_code, again.status_code) == (404, 404, 429)
    proxied.database.dispose()


def test_workers_counting_in_batches_on_threads_admit_exactly_the_limit(service):
    """Two processes' worth of leases on the real database, each serving on four threads."""
    reads = service.deps.reads
    workers = [ClientWindows(partial(dao_count_request, reads)) for _ in range(2)]
    bucket, allowed, now = f"progress:{uuid.uuid4()}", 2_000, time.time()

    def serve(worker: ClientWindows) -> list[int | None]:
        return [worker.admit(bucket, allowed, 86_400, now) for _ in range(400)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [answer for done in pool.map(serve, workers * 4) for answer in done]
    held = sum(worker.held(bucket) for worker in workers)
    assert answers.count(None) + held == allowed
    assert answers.count(None) >= allowed - 2 * 4 * 2  # a few held per thread at most
