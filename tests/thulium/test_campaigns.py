"""ThuliumCampaigns against the sandbox over real HTTP: how a refused add is answered and how the customer
behind it is checked."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from syncd.engine.errors import RunAborted
from syncd.engine.resolve import Decision, decide
from syncd.sandbox.thulium.readings import REWORDED_NOT_FOUND
from syncd.thulium import RetryPolicy, ThuliumClient
from syncd.thulium.campaigns import ThuliumCampaigns
from tests.thulium.conftest import Control

OUTBOUND = "00002"


def a_customer(client: ThuliumClient) -> int:
    return client.customers.create({"surname": "Nowak"})


def test_a_customer_is_there_then_gone(client: ThuliumClient, control: Control) -> None:
    campaigns = ThuliumCampaigns(client)
    customer_id = a_customer(client)
    assert campaigns.customer_exists(customer_id) is True
    client.customers.delete(customer_id)
    assert campaigns.customer_exists(customer_id) is False
    checks = [e for e in control.log() if e["route"] == "customers/:id" and e["method"] == "GET"]
    assert len(checks) == 2


def test_a_check_that_fails_cannot_tell(make_client: Callable[..., ThuliumClient], control: Control) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.01, rng=random.Random(1)))
    customer_id = a_customer(client)
    control.fault("error", method="GET", path="customers/*", status=503)
    assert ThuliumCampaigns(client).customer_exists(customer_id) is None


def test_a_check_without_permission_aborts_the_run(make_client: Callable[..., ThuliumClient]) -> None:
    with pytest.raises(RunAborted, match="401"):
        ThuliumCampaigns(make_client(password="not-the-password")).customer_exists(1)


@pytest.mark.parametrize("message", ["Customer not found.", REWORDED_NOT_FOUND])
def test_an_add_for_a_deleted_customer_is_stale_or_verified_by_its_wording(
    client: ThuliumClient, sandbox: Any, message: str
) -> None:
    sandbox.control.set_readings(customer_not_found_message=message)
    customer_id = a_customer(client)
    client.customers.delete(customer_id)
    (result,) = ThuliumCampaigns(client).add(OUTBOUND, [(customer_id, {})])
    assert (result.status.http_status, result.status.status, result.status.message) == (
        400,
        "FAILED",
        message,
    )
    documented = message == "Customer not found."
    assert decide("add_member", result.status) is (Decision.STALE_LINK if documented else Decision.VERIFY)
