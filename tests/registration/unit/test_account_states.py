"""Account states on the in-memory database with fake passwords and a settable clock: staff
disabled, enabled and given new passwords; approved applications binding ID numbers and
locking the accounts that squatted them; the revocation list; staff names with spaces; the
bound on concurrent hashing."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import select

from services.registration.dao import dao_insert_account
from services.registration.domain import account_states
from services.registration.domain.account_states import (
    ACCOUNT_LOCKED,
    IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,
    AccountDisabled,
    AccountLocked,
)
from services.registration.domain.accounts import NewAccount, name_problems, password_problems
from services.registration.domain.hash_slots import BoundedPasswords, HashingBusy, HashSlots
from services.registration.models import Account
from services.registration.use_cases import account_states as use_cases
from services.registration.use_cases import accounts, sessions
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput, NotFound
from tests.registration.factories import (
    PASSWORD,
    FakePasswords,
    citizen,
    memory_deps,
    next_id_number,
    next_phone,
)
from tests.registration.unit.test_use_cases import failures, outbox_events, register, run


@pytest.fixture
def deps(tmp_path):
    deps = memory_deps(tmp_path)
    yield deps
    deps.database.dispose()


def staff_member(deps, *, name: str = "王审核") -> str:
    phone = next_phone()
    run(
        deps,
        accounts.create_staff_account,
        role="reviewer",
        phone=phone,
        password=PASSWORD,
        name=name,
    )
    return phone


def citizen_with(deps, id_number: str) -> tuple[str, str]:
    """A citizen account with this ID number even when another account has it already (as
    registration allows once no ID number is unique): (account id, phone)."""
    body = citizen(id_number=id_number)
    account = NewAccount(
        account_id=str(uuid.uuid4()),
        phone=body["phone"],
        name="张三",
        role="citizen",
        password_hash=deps.passwords.hash(PASSWORD),
        id_number=id_number,
    )
    with UnitOfWork(deps.database, "registration") as uow:
        dao_insert_account(uow.session, account, deps.cipher)
        uow.commit()
    return account.account_id, body["phone"]


def account(deps, account_id: str) -> Account:
    with deps.database.session_factory() as session:
        return session.scalars(select(Account).where(Account.account_id == account_id)).one()


def revocations(deps) -> dict[str, str]:
    with deps.database.session_factory() as session:
        listed = use_cases.list_revocations(session, deps)["items"]
    return {item["account_id"]: item["since"] for item in listed}


# Staff accounts


def test_staff_names_may_have_single_spaces_between_parts_and_citizens_names_may_not():
    for name in ("Li Ming", "Mary Ann Smith", "李 明", "阿依古丽·买买提"):
        assert name_problems(name, staff=True) == [], name
    for name in ("Li  Ming", " Li Ming", "Li Ming ", "Li· Ming", "Li\tMing", "Li-Ming"):
        assert name_problems(name, staff=True), name
    assert name_problems("Li Ming")  # a citizen's name is the registry's: parts joined by ·


def test_a_staff_account_is_created_with_a_spaced_name(deps):
    phone = staff_member(deps, name=" Li Ming ")
    with deps.database.session_factory() as session:
        row = session.scalars(select(Account).where(Account.phone == phone)).one()
    assert row.name == "Li Ming"
    with pytest.raises(InvalidInput):
        staff_member(deps, name="Li  Ming")


def test_a_disabled_staff_member_cannot_log_in_and_is_listed_until_enabled(deps):
    phone = staff_member(deps)
    account_id = run(deps, use_cases.disable_staff, phone=phone)
    disabled_at = account(deps, account_id).disabled_at
    assert disabled_at == deps.clock.now
    assert revocations(deps) == {account_id: disabled_at}

    with pytest.raises(AccountDisabled) as refused:
        run(deps, sessions.log_in, phone=phone, password=PASSWORD)
    assert refused.value.status == 403
    assert refused.value.extra["code"] == "account_disabled"
    with pytest.raises(sessions.InvalidCredentials):  # a wrong password learns nothing
        run(deps, sessions.log_in, phone=phone, password="wrong-password-1")

    deps.clock.advance(5)
    assert run(deps, use_cases.disable_staff, phone=phone) == account_id
    assert account(deps, account_id).disabled_at == disabled_at  # the first moment stays

    run(deps, use_cases.enable_staff, phone=phone)
    assert account(deps, account_id).disabled_at is None
    run(deps, sessions.log_in, phone=phone, password=PASSWORD)
    # Tokens from before the disabling stay refused while they can be alive.
    assert revocations(deps) == {account_id: disabled_at}
    deps.clock.advance(900 + 10 + 1)
    assert revocations(deps) == {}


def test_a_reset_password_is_generated_shown_once_and_the_old_one_stops_working(deps):
    phone = staff_member(deps)
    with pytest.raises(sessions.InvalidCredentials):
        run(deps, sessions.log_in, phone=phone, password="wrong-password-1")
    account_id, password = run(deps, use_cases.reset_staff_password, phone=phone)
    assert len(password) == account_states.GENERATED_PASSWORD_LENGTH
    assert password_problems(password, phone=phone) == []
    assert password not in str(outbox_events(deps))
    assert revocations(deps) == {account_id: deps.clock.now}
    with pytest.raises(sessions.InvalidCredentials):
        run(deps, sessions.log_in, phone=phone, password=PASSWORD)
    run(deps, sessions.log_in, phone=phone, password=password)


def test_only_staff_accounts_are_managed_by_phone(deps):
    _, citizen_phone = citizen_with(deps, next_id_number())
    for use_case in (use_cases.disable_staff, use_cases.enable_staff):
        for phone in (citizen_phone, next_phone()):
            with pytest.raises(NotFound):
                run(deps, use_case, phone=phone)
    with pytest.raises(NotFound):
        run(deps, use_cases.reset_staff_password, phone=citizen_phone)


# No squatting


def test_an_approval_proves_its_account_and_locks_the_others_with_that_id_number(deps):
    id_number = next_id_number()
    squatter, squatter_phone = citizen_with(deps, id_number)
    real, real_phone = citizen_with(deps, id_number)
    bystander, _ = citizen_with(deps, next_id_number())

    assert run(deps, use_cases.prove_identity, account_id=real) == [squatter]

    assert account(deps, real).identity_proven_at == deps.clock.now
    locked = account(deps, squatter)
    assert (locked.locked_at, locked.lock_reason) == (
        deps.clock.now,
        IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,
    )
    assert account(deps, bystander).locked_at is None
    (event,) = outbox_events(deps)
    assert (event["type"], event["subject"]) == (ACCOUNT_LOCKED, squatter)
    assert event["data"] == {"account_id": squatter, "reason": IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT}
    assert revocations(deps) == {squatter: deps.clock.now}

    with pytest.raises(AccountLocked) as refused:
        run(deps, sessions.log_in, phone=squatter_phone, password=PASSWORD)
    assert refused.value.extra == {
        "code": "account_locked",
        "reason": IDENTITY_PROVEN_BY_ANOTHER_ACCOUNT,
    }
    run(deps, sessions.log_in, phone=real_phone, password=PASSWORD)


def test_an_approval_delivered_again_changes_nothing_and_publishes_nothing(deps):
    id_number = next_id_number()
    squatter, _ = citizen_with(deps, id_number)
    real, _ = citizen_with(deps, id_number)
    run(deps, use_cases.prove_identity, account_id=real)
    proven_at = account(deps, real).identity_proven_at
    deps.clock.advance(60)
    assert run(deps, use_cases.prove_identity, account_id=real) == []
    assert account(deps, real).identity_proven_at == proven_at
    assert account(deps, squatter).locked_at == proven_at
    assert len(outbox_events(deps)) == 1


def test_a_proven_account_is_never_locked_and_a_locked_one_is_never_proven(deps):
    id_number = next_id_number()
    first, _ = citizen_with(deps, id_number)
    second, _ = citizen_with(deps, id_number)
    run(deps, use_cases.prove_identity, account_id=first)
    # An approval for the locked account (which verification's one-card claim should never
    # let through) is left for staff: it neither unlocks it nor locks the proven one.
    assert run(deps, use_cases.prove_identity, account_id=second) == []
    assert account(deps, second).identity_proven_at is None
    assert account(deps, first).locked_at is None


def test_an_approval_for_an_unknown_account_changes_nothing(deps):
    assert run(deps, use_cases.prove_identity, account_id=str(uuid.uuid4())) == []
    assert outbox_events(deps) == []


def test_registrations_own_token_check_refuses_tokens_of_revoked_accounts(deps):
    id_number = next_id_number()
    squatter, _ = citizen_with(deps, id_number)
    real, _ = citizen_with(deps, id_number)
    own = use_cases.OwnRevocations(deps)
    issued = int(deps.clock.now.timestamp()) - 1
    assert not own.is_revoked(squatter, issued)
    run(deps, use_cases.prove_identity, account_id=real)
    assert own.is_revoked(squatter, issued)
    assert own.is_revoked(squatter, issued + 3600)  # locked: no token of it counts
    assert not own.is_revoked(real, issued)
    assert not own.is_revoked(str(uuid.uuid4()), issued)


# The bound on hashing


class SlowPasswords(FakePasswords):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return super().hash(password)


def test_at_most_the_concurrency_hashes_at_once_and_the_rest_wait_or_are_turned_away():
    slow = SlowPasswords(0.3)
    bounded = BoundedPasswords(slow, HashSlots(2, max_wait=5, max_waiting=2))
    outcomes: list[str] = []

    def one() -> None:
        try:
            bounded.hash(PASSWORD)
            outcomes.append("hashed")
        except HashingBusy as busy:
            outcomes.append(f"busy {busy.retry_after}")

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slow.most == 2
    assert sorted(outcomes) == ["busy 2", "busy 2"] + ["hashed"] * 4


def test_a_wait_past_the_limit_is_turned_away_and_a_held_slot_may_be_asked_again():
    slots = HashSlots(1, max_wait=0.1, max_waiting=5)
    bounded = BoundedPasswords(FakePasswords(), slots)
    with slots.slot():
        assert bounded.hash(PASSWORD)  # the same thread: no second slot needed
        failed = []
        worker = threading.Thread(target=lambda: failed.append(_busy(bounded)))
        worker.start()
        worker.join()
        assert failed == [True]
    assert bounded.hash(PASSWORD)


def _busy(bounded: BoundedPasswords) -> bool:
    try:
        bounded.hash(PASSWORD)
    except HashingBusy:
        return True
    return False


def test_a_login_turned_away_busy_is_not_counted_as_a_failure(deps):
    body = citizen()
    register(deps, **body)
    deps.hash_slots = HashSlots(1, max_wait=0.05, max_waiting=1)
    blocker = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with deps.hash_slots.slot():
            blocker.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    blocker.wait(5)
    try:
        with pytest.raises(HashingBusy):
            run(deps, sessions.log_in, phone=body["phone"], password=PASSWORD)
    finally:
        release.set()
        holder.join()
    assert failures(deps, body["phone"]) == 0
