"""Factories for the application service's tests (unit and integration): citizens with valid ID
numbers, outlets in the read model, images no other upload has, applications at any stage, and
the events other services would publish."""

from __future__ import annotations

import hashlib
import io
import os
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from PIL import Image

from services.application.dao import dao_upsert_outlet
from services.application.domain.images import CheckedImage
from shared.db.uow import Database, UnitOfWork
from shared.messaging.envelope import Event, new_event
from shared.messaging.events import contract_for
from shared.messaging.publisher import ConfirmingPublisher, OutgoingMessage
from shared.personal_data.resident_id import check_character
from simulators.identity_registry.store import Person
from tests.support import images

SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def new_id_number(gender: str | None = None) -> str:
    born = date(1950, 1, 1) + timedelta(days=random.randrange(20_000))
    sequence = random.randrange(100, 999)
    if gender is not None and (sequence % 2 == 1) != (gender == "male"):
        sequence += 1
    body = f"110105{born:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


@dataclass
class Citizen:
    account_id: str
    name: str
    id_number: str
    phone: str
    headers: dict[str, str]

    @property
    def gender(self) -> str:
        return "male" if int(self.id_number[16]) % 2 else "female"

    @property
    def birth_date(self) -> date:
        return date(
            int(self.id_number[6:10]), int(self.id_number[10:12]), int(self.id_number[12:14])
        )

    def applicant(self, **changes) -> dict:
        return {
            "name": self.name,
            "gender": self.gender,
            "ethnicity": "汉",
            "birth_date": self.birth_date.isoformat(),
            "id_number": self.id_number,
            "phone": self.phone,
            "address": "北京市朝阳区建国路88号",
            "person_status": "employed",
            **changes,
        }


class People:
    """Makes citizens known to the fake registration service (and, when asked, to the
    identity registry with a photo on file)."""

    def __init__(self, accounts, token_authority, registry) -> None:
        self.accounts = accounts
        self.tokens = token_authority
        self.registry = registry

    def citizen(
        self,
        *,
        photo_on_file: bytes | None = None,
        on_registry: bool = False,
        same_person_as: Citizen | None = None,
    ) -> Citizen:
        """A new account; with `same_person_as`, another account carrying that citizen's name
        and ID number (the real person and whoever registered their number too)."""
        name = (
            same_person_as.name
            if same_person_as
            else random.choice(SURNAMES) + "".join(random.choices(GIVEN, k=2))
        )
        citizen = Citizen(
            account_id=str(uuid.uuid4()),
            name=name,
            id_number=same_person_as.id_number if same_person_as else new_id_number(),
            phone=f"13{random.randrange(10**9):09d}",
            headers={},
        )
        citizen.headers = self.tokens.citizen(citizen.account_id)
        self.accounts.add(
            citizen.account_id, name=name, id_number=citizen.id_number, phone=citizen.phone
        )
        if on_registry or photo_on_file is not None:
            self.registry.store.put(
                Person(
                    id_number=citizen.id_number,
                    name=name,
                    gender=citizen.gender,
                    birth_date=citizen.birth_date.isoformat(),
                    ethnicity="汉",
                    address="北京市朝阳区建国路88号",
                ),
                photo_on_file,
            )
        return citizen


def outlet_data(*, bank_code: str = "ICBC", active: bool = True, **changes) -> dict:
    return {
        "outlet_id": str(uuid.uuid4()),
        "bank_code": bank_code,
        "bank_name": {"ICBC": "中国工商银行", "CCB": "中国建设银行"}.get(bank_code, "测试银行"),
        "name": f"{bank_code} 网点 {random.randrange(1000)}",
        "district": "朝阳区",
        "address": "北京市朝阳区建国门外大街1号",
        "active": active,
        **changes,
    }


def add_outlet(database: Database, **changes) -> dict:
    data = outlet_data(**changes)
    with UnitOfWork(database, "printing") as uow:
        dao_upsert_outlet(uow.session, data, datetime.now(UTC))
        uow.commit()
    return data


# -- images no other upload has (equal bytes are stored once) ----------------------------------


def _with_noise(image: Image.Image) -> Image.Image:
    image.paste(Image.frombytes("RGB", (16, 16), os.urandom(16 * 16 * 3)), (0, 0))
    return image


def new_photo() -> bytes:
    photo = _with_noise(Image.open(io.BytesIO(images.card_photo("obama"))).convert("RGB"))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=70, dpi=(350, 350))
    return buffer.getvalue()


def plain_card_photo() -> bytes:
    """A photo that meets the card photo rules (size, mode, weight) and shows no one: made in
    milliseconds, for tests that store photos rather than judge faces."""
    photo = Image.linear_gradient("L").resize((358, 441)).convert("RGB")
    photo.paste(Image.frombytes("RGB", (96, 96), os.urandom(96 * 96 * 3)), (100, 100))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def new_id_card_back() -> bytes:
    buffer = io.BytesIO()
    _with_noise(Image.new("RGB", (640, 404), "white")).save(buffer, "PNG")
    return buffer.getvalue()


def checked_image(data: bytes) -> CheckedImage:
    """`data` as if it had passed the card photo rules (for storing, not judging)."""
    return CheckedImage(data=data, content_type="image/jpeg", width=358, height=441, mode="RGB")


def sha(data: bytes) -> str:
    """The name of what an upload of `data` stores: these images carry no metadata to strip."""
    return hashlib.sha256(data).hexdigest()


# -- HTTP journeys ------------------------------------------------------------------------------


def create_application(client, citizen: Citizen, outlet: dict, **applicant_changes) -> dict:
    response = client.post(
        "/api/v1/applications",
        json={
            "outlet_id": outlet["outlet_id"],
            "applicant": citizen.applicant(**applicant_changes),
        },
        headers=citizen.headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def upload(
    client, citizen: Citizen, application_id: str, kind: str, data: bytes, content_type: str
):
    path = {
        "photo": "photo",
        "id_card_front": "id-card/front",
        "id_card_back": "id-card/back",
    }[kind]
    return client.put(
        f"/api/v1/applications/{application_id}/{path}",
        data=data,
        content_type=content_type,
        headers=citizen.headers,
    )


def complete_draft(client, citizen: Citizen, outlet: dict) -> dict:
    application = create_application(client, citizen, outlet)
    application_id = application["application_id"]
    for kind, data, content_type in (
        ("photo", images.card_photo("obama"), "image/jpeg"),
        ("id_card_front", images.id_card_front("obama"), "image/png"),
        ("id_card_back", images.id_card_back(), "image/png"),
    ):
        response = upload(client, citizen, application_id, kind, data, content_type)
        assert response.status_code == 204, response.get_data(as_text=True)
    return application


def submitted_application(client, citizen: Citizen, outlet: dict) -> dict:
    application = complete_draft(client, citizen, outlet)
    response = client.post(
        f"/api/v1/applications/{application['application_id']}/submit", headers=citizen.headers
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return {**application, **response.get_json()}


# -- events -------------------------------------------------------------------------------------

# Other services' events happen after the tests' own requests: an hour from now.
T0 = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def verification_event(
    event_type: str, application: dict, account_id: str, *, minute: float
) -> Event:
    data = {
        "application_id": application["application_id"],
        "account_id": account_id,
        "case_id": str(uuid.uuid4()),
    }
    if event_type == "verification.review_required":
        data["checks"] = [
            {"check": "id_card_face_match", "outcome": "review", "detail": "distance 0.58"}
        ]
    if event_type == "verification.rejected":
        data["reasons"] = [{"code": "photo_single_face", "detail": "two faces in the photo"}]
    return new_event(event_type, data, source="verification", time=at(minute))


def card_event(
    event_type: str,
    application: dict,
    account_id: str,
    *,
    minute: float,
    card_id: str | None = None,
    reason: str | None = None,
) -> Event:
    data = {
        "card_id": card_id or str(uuid.uuid5(uuid.NAMESPACE_URL, application["application_id"])),
        "application_id": application["application_id"],
        "account_id": account_id,
        "bank_code": "ICBC",
        "outlet_id": application["outlet_id"],
    }
    if event_type == "card.print_requested":
        data["card_serial"] = "A" + application["application_id"][:8].upper()
    else:
        data["occurred_at"] = at(minute).isoformat().replace("+00:00", "Z")
        if reason:
            data["reason"] = reason
    return new_event(event_type, data, source="printing", time=at(minute))


def outlet_event(data: dict, *, time: datetime | None = None) -> Event:
    return new_event("outlet.upserted", data, source="printing", time=time)


def publish(publisher: ConfirmingPublisher, *events: Event) -> None:
    results = publisher.publish_batch(
        [
            OutgoingMessage(
                exchange=contract_for(event.type).exchange,
                routing_key=event.type,
                body=event.to_json(),
                message_id=event.id,
                event_type=event.type,
            )
            for event in events
        ]
    )
    assert all(results)
