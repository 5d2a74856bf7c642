"""One rule for bank codes: printing takes them in any case at every entry (banks, outlets,
the outlet search) and keeps them in capitals, the form of routing keys and queue names."""

from __future__ import annotations

import pytest

from services.printing.domain.banks import OutletFields
from services.printing.use_cases.outlets import create_outlet, find_outlets, put_partner_bank
from shared.db.uow import UnitOfWork
from shared.errors import InvalidInput
from tests.printing.factories import memory_deps


def run(deps, use_case, *args, **kwargs):
    with UnitOfWork(deps.database, "printing") as uow:
        result = use_case(uow, *args, **kwargs)
        uow.commit()
        return result


def test_bank_codes_are_taken_in_any_case_and_kept_in_capitals():
    deps = memory_deps()
    try:
        bank, created = run(deps, put_partner_bank, deps, bank_code="boc", name="中国银行")
        assert (bank.bank_code, created) == ("BOC", True)
        assert deps.print_queues.declared == ["BOC"]
        _, created = run(deps, put_partner_bank, deps, bank_code=" Boc ", name="中国银行")
        assert created is False

        fields = OutletFields("boc", "中行东城支行", "东城区", "东长安街1号")
        assert fields.bank_code == "BOC"
        outlet = run(deps, create_outlet, fields=fields)
        assert outlet.bank_code == "BOC"
        with deps.database.session_factory() as session:
            found = find_outlets(session, bank_code="boc")
        assert [item["outlet_id"] for item in found] == [outlet.outlet_id]
    finally:
        deps.database.dispose()


@pytest.mark.parametrize("bad", ["IC_BC", "1CBC", "A" * 17, "icbc.#", "I"])
def test_what_the_rule_refuses_is_refused(bad):
    deps = memory_deps()
    try:
        with pytest.raises(InvalidInput):
            run(deps, put_partner_bank, deps, bank_code=bad, name="?")
    finally:
        deps.database.dispose()
