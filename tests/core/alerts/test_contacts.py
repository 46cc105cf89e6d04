"""A division's alert contacts: each address once per channel; fewer than 3 is reported (drug
GSP asks that an alarm reach at least 3 named people)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vaxtrace.core.alerts.contacts import MIN_CONTACTS, Contact, check_contacts, shortfall
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason


def test_an_address_twice_on_one_channel_is_refused() -> None:
    people = [
        Contact(name="张三", address="zhang@fda.example"),
        Contact(name="李四", address="13800000000", channel="webhook"),
        Contact(name="张三", address="zhang@fda.example"),
    ]
    with pytest.raises(DomainError) as refused:
        check_contacts(people)
    assert refused.value.reason == Reason.DUPLICATE_CONTACT
    assert refused.value.field == "contacts[2].address"
    check_contacts(
        [*people[:2], Contact(name="张三", address="zhang@fda.example", channel="webhook")]
    )


def test_a_contact_names_a_person_and_a_channel() -> None:
    with pytest.raises(ValidationError):
        Contact.model_validate({"name": "", "address": "a@b.example"})
    with pytest.raises(ValidationError):
        Contact.model_validate({"name": "王五", "address": "a b", "channel": "smtp"})
    with pytest.raises(ValidationError):
        Contact.model_validate({"name": "王五", "address": "a@b.example", "channel": "fax"})


def test_fewer_than_three_is_a_shortfall() -> None:
    assert MIN_CONTACTS == 3
    assert shortfall(3) is None and shortfall(10) is None
    for count in (0, 1, 2):
        said = shortfall(count)
        assert said is not None and "at least 3" in said
