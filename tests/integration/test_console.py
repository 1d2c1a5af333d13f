"""Integration, real broker: the operator API on two workers: roles, commands, approval, audit."""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

import orjson
import pytest

from app.console.roles import mask_name, mask_phone
from tests.integration.console_fixture import Hub, hub  # noqa: F401  (module fixture)

pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]  # broker-independent: runs once, on the embedded broker


def u(text: str) -> str:
    """An OLI in a URL: percent-encoded (an OLI may itself contain `%`)."""
    return quote(text, safe="")


async def _order(h: Hub, oli: str, person: str = "ada", worker: int = 0) -> dict:
    status, body = await h.call("GET", f"/api/orders/{u(oli)}", person, worker=worker)
    assert status == 200, body
    return body


async def test_each_role_on_each_endpoint(hub: Hub) -> None:  # noqa: F811
    oli = hub.paid[0]
    reads = [f"/api/orders/{u(oli)}", f"/api/orders/{u(oli)}/history", "/api/orders?limit=5", "/api/stuck",
             "/api/approvals?state=pending", f"/api/audit?oli={u(oli)}", "/api/stats"]
    for path in reads:
        status, body = await hub.call("GET", path, None)
        assert status == 401 and body["error"], (path, body)
        for person in ("vic", "olga", "amy", "ada"):
            status, body = await hub.call("GET", path, person, worker=1)
            assert status == 200, (path, person, body)
    # a stale if_version: roles that may command get past the role check to 409, nothing changes
    stale = {"command": "hold", "reason": "role check", "if_version": 999}
    expected = {None: 401, "vic": 403, "amy": 403, "olga": 409, "ada": 409}
    for person, want in expected.items():
        status, body = await hub.call("POST", f"/api/orders/{u(oli)}/commands", person, body=stale)
        assert status == want and "error" in body, (person, body)
    expected = {None: 401, "vic": 403, "olga": 403, "amy": 404, "ada": 404}
    for person, want in expected.items():
        status, body = await hub.call("POST", f"/api/approvals/{u(oli)}:nope/approve", person, body={"reason": "x"})
        assert status == want and "error" in body, (person, body)


async def test_viewers_see_masked_receivers_and_any_worker_answers(hub: Hub) -> None:  # noqa: F811
    oli = hub.paid[1]
    plain = [(await _order(hub, oli, "olga", worker=w))["order"]["receiver"] for w in (0, 1)]
    assert plain[0] == plain[1] and "*" not in plain[0]["address"]["detail"]
    masked = (await _order(hub, oli, "vic"))["order"]["receiver"]
    assert masked["address"]["detail"] == "***" != plain[0]["address"]["detail"]
    assert masked["name"] == mask_name(plain[0]["name"]) and masked["phone"] == mask_phone(plain[0]["phone"])
    found = await hub.wait_for(f"/api/orders?q={u(oli)}", lambda b: len(b["orders"]) == 1, person="vic", worker=1)
    assert found["orders"][0]["oli"] == oli and found["orders"][0]["receiver"]["address"]["detail"] == "***"
    everything = await hub.wait_for("/api/orders?limit=500", lambda b: len(b["orders"]) >= 40)
    assert everything["complete"] and not everything["unreachable"]
    assert {o["oli"] for o in everything["orders"]} >= set(hub.paid)


async def test_bad_commands_are_refused_and_change_nothing(hub: Hub) -> None:  # noqa: F811
    oli = hub.paid[2]
    before = await _order(hub, oli)
    path = f"/api/orders/{u(oli)}/commands"
    cases = [
        (b"{not json", 400, "JSON"),
        (b'{"command": "teleport"}', 400, "command"),
        (b'{"command": "set_carrier"}', 400, "params.carrier"),
        (b'{"command": "hold"}', 400, "reason"),
        (b'{"command": "split", "params": {"parcels": [["1"], ["nope"]]}}', 400, "params.parcels"),
        (b'{"command": "release", "if_version": 1}', 409, "if_version"),
    ]
    for raw, want, field in cases:
        status, body = await hub.call("POST", path, "olga", raw=raw)
        assert status == want and field in body["error"], (raw, body)
    status, body = await hub.call("POST", "/api/orders/tb-no-such/commands", "olga", body={"command": "release"})
    assert status == 404
    after = await _order(hub, oli)
    assert after["order"]["version"] == before["order"]["version"]


async def test_address_change_waits_for_two_approvers_then_cancels_and_reships(hub: Hub) -> None:  # noqa: F811
    oli = hub.paid[3]
    before = (await _order(hub, oli))["order"]
    old_command = before["fulfillment"]["command_id"]
    status, body = await hub.call("POST", f"/api/orders/{u(oli)}/commands", "olga", body={
        "command": "change_address", "params": {"receiver": {"address": {"detail": "文二路9号"}}},
        "reason": "buyer called", "if_version": before["version"]})
    assert status == 202 and body["request_id"].startswith("req-")
    view = await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: any(
        a["state"] == "pending" for a in b["approvals"]), worker=1)
    approval_id = view["approvals"][0]["approval_id"]
    assert "approval_pending" in [h["reason"] for h in view["order"]["holds"]]
    assert view["order"]["receiver"]["address"]["detail"] == before["receiver"]["address"]["detail"]
    queue = await hub.wait_for("/api/approvals?state=pending", lambda b: any(
        a["approval_id"] == approval_id for a in b["approvals"]), worker=1)
    assert queue["approvals"][0]["levels"] == 2

    decide = f"/api/approvals/{u(approval_id)}/approve"
    status, body = await hub.call("POST", decide, "ada", body={})
    assert status == 400 and "reason" in body["error"]
    status, body = await hub.call("POST", decide, "amy", body={"reason": "checked with buyer"}, worker=1)
    assert status == 202, body
    await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: b["approvals"][0]["approvers"] == ["amy"])
    status, body = await hub.call("POST", decide, "amy", body={"reason": "again"})
    assert status == 403 and "someone else" in body["error"]
    status, body = await hub.call("POST", decide, "bob", body={"reason": "second check"})
    assert status == 202, body
    waiting = await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: b["order"]["receiver"]["address"]["detail"]
                                 == "文二路9号" and b["order"]["fulfillment"]["state"] == "CANCEL_REQUESTED")
    cancel_id = waiting["order"]["fulfillment"]["cancel_command_id"]
    # the new SHIP waits until the warehouse says the old parcel was stopped
    await hub.pipeline.produce([(hub.pipeline.names.wms_events, oli.encode(), orjson.dumps({
        "command_id": cancel_id, "oli": oli, "event": "INTERCEPTED", "at": "2026-11-11T03:00:00+00:00"}))])
    done = await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: b["order"]["fulfillment"]["state"] == "REQUESTED")
    assert all(h["reason"] != "approval_pending" for h in done["order"]["holds"])
    status, body = await hub.call("POST", decide, "ada", body={"reason": "late"})
    assert status == 409 and "approved" in body["error"]

    p = hub.pipeline
    commands = await p.collect(p.names.fulfillment_commands, until=lambda recs: sum(
        r["oli"] == oli for r in recs) >= 3, timeout=30)
    mine = [c for c in commands if c["oli"] == oli]
    assert [c["type"] for c in mine] == ["SHIP", "CANCEL_SHIPMENT", "SHIP"]
    assert mine[1]["cancels"] == old_command and mine[2]["receiver"]["address"]["detail"] == "文二路9号"
    audit = await p.collect(p.names.audit, until=lambda recs: sum(
        r["oli"] == oli and r["action"] == "command_applied" for r in recs) >= 1, timeout=30)
    steps = [(a["action"], a["actor"]) for a in audit if a["oli"] == oli]
    assert steps == [("approval_requested", "olga"), ("approval_granted", "amy"),
                     ("approval_granted", "bob"), ("command_applied", "olga")]
    applied = next(a for a in audit if a["oli"] == oli and a["action"] == "command_applied")
    assert applied["before"]["receiver"]["address"]["detail"] == before["receiver"]["address"]["detail"]
    history = await hub.wait_for(f"/api/orders/{u(oli)}/history", lambda b: sum(
        e["kind"] == "audit" for e in b["entries"]) >= 4, worker=1)
    kinds = [e.get("type") or e.get("action") for e in history["entries"]]
    assert kinds[0] == "OrderCreated" and "FulfillmentCancelRequested" in kinds
    assert kinds.index("approval_requested") < kinds.index("command_applied")


async def test_rejected_change_leaves_the_order_and_releases_the_hold(hub: Hub) -> None:  # noqa: F811
    oli = hub.paid[4]
    before = (await _order(hub, oli))["order"]
    status, _ = await hub.call("POST", f"/api/orders/{u(oli)}/commands", "olga", body={
        "command": "set_carrier", "params": {"carrier": "YTO"}, "reason": "cheaper"})
    assert status == 202
    view = await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: bool(b["approvals"]))
    approval_id = view["approvals"][0]["approval_id"]
    status, body = await hub.call("POST", f"/api/approvals/{u(approval_id)}/reject", "olga",
                                  body={"reason": "own"})
    assert status == 403  # operators do not approve
    status, body = await hub.call("POST", f"/api/approvals/{u(approval_id)}/reject", "amy",
                                  body={"reason": "contract says SF"})
    assert status == 202
    after = await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: b["approvals"][0]["state"] == "rejected")
    assert after["order"]["holds"] == before["holds"]
    assert after["order"]["fulfillment"]["carrier"] == before["fulfillment"]["carrier"]
    assert after["order"]["fulfillment"]["command_id"] == before["fulfillment"]["command_id"]
    p = hub.pipeline
    audit = await p.collect(p.names.audit, until=lambda recs: any(
        r["oli"] == oli and r["action"] == "approval_rejected" for r in recs), timeout=30)
    assert [a["action"] for a in audit if a["oli"] == oli] == ["approval_requested", "approval_rejected"]
    commands = await p.collect(p.names.fulfillment_commands, until=lambda r: True, timeout=10, settle=1)
    assert Counter(c["type"] for c in commands if c["oli"] == oli) == {"SHIP": 1}


async def test_hold_release_apply_at_once_and_stuck_lists_the_held_order(hub: Hub) -> None:  # noqa: F811
    oli = hub.paid[5]
    status, _ = await hub.call("POST", f"/api/orders/{u(oli)}/commands", "olga",
                               body={"command": "hold", "reason": "flooded city"})
    assert status == 202
    await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: "operator_hold" in [h["reason"] for h in b["order"]["holds"]])
    held = await hub.wait_for("/api/orders?hold=operator_hold", lambda b: oli in {o["oli"] for o in b["orders"]})
    assert all("operator_hold" in o["holds"] for o in held["orders"])
    status, _ = await hub.call("POST", f"/api/orders/{u(oli)}/commands", "ada", body={"command": "release"})
    assert status == 202
    await hub.wait_for(f"/api/orders/{u(oli)}", lambda b: b["order"]["holds"] == [])
    audit = await hub.wait_for(f"/api/audit?oli={u(oli)}", lambda b: len(b["entries"]) >= 2, person="vic")
    assert [(e["command"], e["actor"]) for e in audit["entries"]] == [("hold", "olga"), ("release", "ada")]
    stuck = await hub.wait_for("/api/stuck", lambda b: len(b["orders"]) > 0)
    assert all(o["reason"] for o in stuck["orders"])


async def test_real_messages_match_the_topic_contract(hub: Hub) -> None:  # noqa: F811
    """Everything this module's run wrote to the output topics validates against docs/schemas."""
    import jsonschema

    from app.contract import SCHEMA_DIR

    p = hub.pipeline
    oli = hub.paid[6]
    order = await _order(hub, oli)
    await p.produce([
        (p.names.wms_events, oli.encode(), orjson.dumps({
            "command_id": order["order"]["fulfillment"]["command_id"], "oli": oli, "event": "REJECTED",
            "at": "2026-11-11T10:00:00+08:00", "reason": "no stock"})),
        (p.names.channel_orders, b"poison", b"{not json"),
    ])
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    by_topic = {p.names.order_events: "order-event", p.names.fulfillment_commands: "fulfillment-command",
                p.names.audit: "audit-entry", p.names.alerts: "alert", p.names.ops_commands: "ops-command",
                p.names.dlq(p.names.channel_orders): "dlq-entry"}
    counts = {}
    for topic, schema_name in by_topic.items():
        schema = orjson.loads((SCHEMA_DIR / f"{schema_name}.schema.json").read_bytes())
        wanted = {"alert": lambda r: any(a["oli"] == oli for a in r), "dlq-entry": lambda r: bool(r),
                  "audit-entry": lambda r: any(a["action"] == "automatic_hold" for a in r)}
        messages = await p.collect(topic, until=wanted.get(schema_name, bool), timeout=30, settle=0.5)
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema, format_checker=checker)  # once: validate() checks the schema per call
        for message in messages:
            validator.validate(message)
        counts[schema_name] = len(messages)
    assert counts["order-event"] > 100 and counts["fulfillment-command"] >= len(hub.paid) and counts["alert"] >= 1
    assert counts["audit-entry"] >= 8 and counts["ops-command"] >= 6 and counts["dlq-entry"] == 1


async def test_bulk_hold_of_1000_orders_reports_progress_and_audits_each(hub: Hub) -> None:  # noqa: F811
    from app.demo_data import generate

    p = hub.pipeline
    stories = generate(1000, seed=23, shops=2)
    topic = {"channel_order": p.names.channel_orders, "payment": p.names.payments}
    await p.produce([(topic[s.kind], s.key, s.value) for st in stories for s in st.sends])
    olis = [s.oli for s in stories]
    await p.collect(p.names.order_events, until=lambda recs: {r["oli"] for r in recs} >= set(olis),
                    timeout=240, settle=0.5)

    status, body = await hub.call("POST", "/api/bulk", "vic", body={"command": "hold", "olis": olis})
    assert status == 403
    status, body = await hub.call("POST", "/api/bulk", "olga", body={"command": "hold", "olis": olis})
    assert status == 400 and "reason" in body["error"]
    status, body = await hub.call("POST", "/api/bulk", "olga", body={"command": "hold", "reason": "x"})
    assert status == 400 and "olis" in body["error"]
    status, body = await hub.call("POST", "/api/bulk", "olga", worker=1,
                                  body={"command": "hold", "reason": "typhoon at the hub", "olis": olis})
    assert status == 202 and body["total"] == 1000, body
    job = body["job_id"]
    seen: list[int] = []

    def finished(b: dict) -> bool:
        seen.append(b["processed"])
        return b["state"] == "done"

    done = await hub.wait_for(f"/api/bulk/{job}", finished, timeout=120)
    assert done["processed"] == 1000 and done["applied"] + done["refused"] == 1000, done
    unpaid_or_cancelled = sum(s.fate == "cancelled" for s in stories)
    assert done["refused"] == unpaid_or_cancelled and done["approval_pending"] == 0
    assert seen == sorted(seen)  # progress only moves forward
    audit = await p.collect(p.names.audit, until=lambda recs: sum(r.get("job_id") == job for r in recs) >= 1000,
                            timeout=60)
    mine = [a for a in audit if a.get("job_id") == job]
    assert len(mine) == 1000 and len({a["oli"] for a in mine}) == 1000
    assert {a["action"] for a in mine} == {"command_applied", "command_refused"}
    held = await hub.wait_for("/api/orders?hold=operator_hold&limit=10000",
                              lambda b: len(b["orders"]) >= done["applied"])
    assert {o["oli"] for o in held["orders"]} >= {a["oli"] for a in mine if a["action"] == "command_applied"}

    status, body = await hub.call("POST", "/api/bulk", "ada", body={
        "command": "release", "filter": {"hold": "operator_hold"}})
    assert status == 202 and body["total"] >= done["applied"]
    await hub.wait_for(f"/api/bulk/{body['job_id']}", lambda b: b["state"] == "done", timeout=120)
    await hub.wait_for("/api/orders?hold=operator_hold&limit=10000", lambda b: not b["orders"])


def test_fuzzing_the_openapi_description_finds_no_server_error(hub: Hub) -> None:  # noqa: F811
    """schemathesis: valid and invalid requests for every operation, as admin and as viewer: never a 5xx.

    Runs last in this module: fuzzed commands may hold or change the seeded orders."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from app.web.dashboard import STATIC

    schema = schemathesis.openapi.from_path(str(STATIC.parent / "openapi.yaml"))
    real = {"oli": hub.paid[8], "approval_id": f"{hub.paid[8]}:req-0", "job_id": "job-0"}
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        strategies = [operation.as_strategy(mode) for mode in (schemathesis.GenerationMode.POSITIVE,
                                                               schemathesis.GenerationMode.NEGATIVE)]
        if names & set(real):
            strategies.append(operation.as_strategy(path_parameters={n: real[n] for n in names if n in real}))

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(strategies), person=st.sampled_from(["ada", "vic", None]))
        def run(case, person) -> None:  # type: ignore[no-untyped-def]
            nonlocal calls
            response = case.call(base_url=hub.urls[calls % 2], headers=hub.auth(person), timeout=30)
            calls += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {person}: {response.status_code} "
                                f"{response.text[:200]}")

        run()
    assert not failures, "\n".join(failures[:10])
    assert calls >= 12 * 25
