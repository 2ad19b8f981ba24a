"""The deployed alert Lambda, invoked for real: exactly once under concurrency, retries and crashes."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fraudstack.aws import client
from fraudstack.identity import pipeline_names
from fraudstack.settings import Settings
from fraudstack.warehouse import Warehouse
from tests.pipeline.seed import delete_seeded, seed_flagged
from tests.support.deployment import alert_ids, drain, emails_sent

INVOCATIONS = 6


def invoke(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    response = client("lambda", settings).invoke(
        FunctionName=pipeline_names(settings).alert_function, Payload=json.dumps(event).encode()
    )
    payload: dict[str, Any] = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def statuses(wh: Warehouse, ids: list[str]) -> dict[str, str]:
    rows = wh.query("SELECT transaction_id, status FROM fraud_alerts WHERE transaction_id = ANY(%s)", (ids,))
    wh.commit()
    return {str(t): str(s) for t, s in rows}


def test_concurrent_invocations_alert_each_transaction_once(deployed: Settings, warehouse: Warehouse) -> None:
    drain(deployed, deployed.alerts_tap_queue)
    ids = seed_flagged(warehouse, f"conc{uuid.uuid4().hex[:6]}", 40)
    try:
        assert invoke(deployed, {"action": "check"})["pending"] >= len(ids)
        with ThreadPoolExecutor(INVOCATIONS) as pool:
            results = list(pool.map(lambda _: invoke(deployed, {"action": "send"}), range(INVOCATIONS)))

        published = alert_ids(drain(deployed, deployed.alerts_tap_queue))
        mine = [t for t in published if t in set(ids)]
        assert sorted(mine) == sorted(ids), "every flagged transaction published exactly once"
        assert len(published) == len(set(published)), "no transaction published twice"
        assert sum(r["claimed"] for r in results) >= len(ids)
        assert sum(1 for r in results if r["claimed"]) >= 1
        assert statuses(warehouse, ids) == dict.fromkeys(ids, "sent")

        again = invoke(deployed, {"action": "send"})  # a repeated run finds nothing of ours
        assert not set(alert_ids(drain(deployed, deployed.alerts_tap_queue))) & set(ids), again
    finally:
        delete_seeded(warehouse, ids)


def test_a_claim_left_by_a_crashed_run_is_taken_over_after_its_lease(
    deployed: Settings, warehouse: Warehouse
) -> None:
    drain(deployed, deployed.alerts_tap_queue)
    ids = seed_flagged(warehouse, f"crash{uuid.uuid4().hex[:6]}", 3)
    try:
        # A run claimed all three and crashed: after publishing the first, before e-mailing any.
        for i, transaction_id in enumerate(ids):
            warehouse.execute(
                "INSERT INTO fraud_alerts (transaction_id, model_version, status, claimed_at, channel) "
                "VALUES (%s, %s, 'claimed', now() - INTERVAL '1 day', %s)",
                (transaction_id, "seed-test", "sns" if i == 0 else None),
            )
        # ... and one claim is fresh: its run may still be sending, so it must be left alone.
        fresh = seed_flagged(warehouse, f"fresh{uuid.uuid4().hex[:6]}", 1)
        warehouse.execute(
            "INSERT INTO fraud_alerts (transaction_id, model_version, status) "
            "VALUES (%s, 'seed-test', 'claimed')",
            (fresh[0],),
        )
        warehouse.commit()
        sent_before = emails_sent(deployed)

        result = invoke(deployed, {"action": "send"})

        assert result["taken_over"] >= 3
        published = alert_ids(drain(deployed, deployed.alerts_tap_queue))
        assert sorted(t for t in published if t in set(ids)) == sorted(ids[1:]), "no second SNS publish"
        assert fresh[0] not in published
        assert statuses(warehouse, ids) == dict.fromkeys(ids, "sent")
        assert statuses(warehouse, fresh) == {fresh[0]: "claimed"}
        assert emails_sent(deployed) > sent_before, "the e-mail was not lost"
        ids += fresh
    finally:
        delete_seeded(warehouse, ids)
