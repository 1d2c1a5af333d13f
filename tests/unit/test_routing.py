"""Unit: the routing decision and its wiring into the order's route step (pure)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.catalog import Catalog, parse_skus_csv
from app.domain.model import CommandType, Line, OrderStatus, RuleRef
from app.domain.transitions import RoutingDefaults, apply_channel_update
from app.routing import RulesRouter, SplitFieldsGeocoder, decide
from app.rules import RuleSet, parse_rules
from tests.unit.rules_fixtures import AMBIGUOUS, HANGZHOU, LHASA, NOW_FIXTURE, URUMQI, FakeGeocoder, order

ROOT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(parse_skus_csv((ROOT / "examples/skus.csv").read_text()))
RULES = RuleSet(parse_rules((ROOT / "examples/rules.yaml").read_text()))
DEFAULTS = RoutingDefaults("WH-DEFAULT", "SF")


def route(o, rules: RuleSet = RULES):  # type: ignore[no-untyped-def]
    return decide(o, rules, CATALOG, FakeGeocoder(), DEFAULTS)


def test_seed_rule_heavy_urumqi_ships_ems_from_urumqi() -> None:
    d = route(order(URUMQI, lines=(Line("1", "5000004", quantity=1),)))
    assert (d.carrier, d.warehouse) == ("EMS", "WH-URUMQI")
    assert [r.id for r in d.rules_fired] == ["urumqi-heavy-ems", "xinjiang-carrier"]
    assert d.holds == () and set(d.tags) == {"remote-heavy", "remote-region"}
    assert d.address.adcode == "650102" and d.weighing.total_weight_g == 5100


def test_light_urumqi_order_gets_the_xinjiang_carrier() -> None:
    d = route(order(URUMQI, lines=(Line("1", "5000001", quantity=1),)))
    assert (d.carrier, d.warehouse) == ("YTO", "WH-URUMQI")


def test_tibet_ships_ems_and_default_elsewhere() -> None:
    assert route(order(LHASA)).carrier == "EMS"
    d = route(order(HANGZHOU))
    assert (d.carrier, d.warehouse, d.rules_fired) == ("SF", "WH-DEFAULT", ())


def test_high_value_requires_approval_and_presale_waits() -> None:
    d = route(order(total=800000, tags=("presale",)))
    reasons = [h.reason for h in d.holds]
    assert reasons == ["presale_wait", "approval_required"]
    assert d.approvals == (("high_value_over_5000_yuan", "high-value-hold"),)
    assert "high-value-hold" in d.holds[1].detail


def test_unresolved_address_is_held_with_candidates() -> None:
    d = route(order(AMBIGUOUS))
    hold = d.holds[0]
    assert hold.reason == "address_unresolved" and "110105" in hold.detail and "220104" in hold.detail
    assert len(d.address.candidates) == 2


def test_unmapped_sku_is_held_naming_it() -> None:
    d = route(order(lines=(Line("1", "5000001"), Line("2", "NOPE-7"))))
    assert (d.holds[0].reason, "NOPE-7" in d.holds[0].detail) == ("sku_unmapped", True)
    assert d.weighing.total_weight_g is None  # never a silent zero: rules reading the weight fail too
    assert {h.reason for h in d.holds[1:]} == {"rule_error:bulky-goods-jd"}


def test_rule_error_holds_the_order_with_the_rule_id() -> None:
    rules = RuleSet(parse_rules("- {id: heavy, version: 3, when: 'weight_g > 2000', then: [{set_carrier: EMS}]}"))
    d = route(order(channel="jd"), rules)  # jd has no catalog entries: weight unknown
    assert [h.reason for h in d.holds] == ["rule_error:heavy"] and d.holds[0].detail.startswith("v3:")


def test_decision_json_has_the_documented_keys() -> None:
    out = decide(order(URUMQI), RULES, CATALOG, FakeGeocoder(), DEFAULTS, explain=True).to_json(explain=True)
    assert {"carrier", "warehouse", "holds", "tags", "rules_fired", "address", "approvals"} <= set(out)
    assert out["address"]["adcode"] == "650102" and out["explain"]["carrier_from"] == "xinjiang-carrier"
    assert {t["outcome"] for t in out["explain"]["rules"]} >= {"matched", "skipped", "not_matched"}


def test_split_fields_geocoder_never_guesses() -> None:
    assert SplitFieldsGeocoder().normalize(HANGZHOU).resolved
    assert not SplitFieldsGeocoder().normalize(replace(HANGZHOU, province="")).resolved


# ------------------------------------------------------------------ wired into the route step


def _ship(rules: RuleSet, o=None):  # type: ignore[no-untyped-def]
    router = RulesRouter(rules, CATALOG, FakeGeocoder(), DEFAULTS)
    incoming = o or replace(order(URUMQI, lines=(Line("1", "5000004", quantity=1),)), version=0)
    return apply_channel_update(None, incoming, (), NOW_FIXTURE, router)


def test_fulfillment_records_rule_ids_and_versions_in_event_command_and_state() -> None:
    d = _ship(RULES)
    (command,) = d.commands
    fired = (RuleRef("urumqi-heavy-ems", 1), RuleRef("xinjiang-carrier", 1))
    assert command.type is CommandType.SHIP and (command.carrier, command.warehouse) == ("EMS", "WH-URUMQI")
    assert command.rules_fired == fired
    requested = d.events[-1]
    assert requested.type == "FulfillmentRequested" and requested.rules_fired == fired
    assert d.order is not None and d.order.fulfillment.rules_fired == fired
    assert d.order.receiver.address.adcode == "650102"  # normalised address stored
    assert d.order.lines[0].weight_g == 5100 and command.lines[0].weight_g == 5100  # weight from the catalog
    assert {"remote-heavy", "remote-region"} <= set(d.order.tags)


def test_a_rule_hold_holds_instead_of_shipping_and_records_the_rule() -> None:
    d = _ship(RULES, replace(order(total=900000), version=0))
    assert d.commands == ()
    held = d.events[-1]
    assert held.type == "OrderHeld" and held.rules_fired == (RuleRef("high-value-hold", 1),)
    assert d.order is not None and d.order.status is OrderStatus.PAID
    assert [h.reason for h in d.order.holds] == ["approval_required"]


def test_without_rules_the_defaults_apply() -> None:
    d = _ship(RuleSet(()))
    assert (d.commands[0].carrier, d.commands[0].warehouse, d.commands[0].rules_fired) == ("SF", "WH-DEFAULT", ())


def test_with_the_offline_normaliser_an_ambiguous_district_is_held_and_a_fuzzy_one_resolves() -> None:
    from app.address import OfflineGeocoder
    from app.domain.model import Address

    offline = OfflineGeocoder()
    ambiguous = decide(order(Address(detail="朝阳区建国路88号")), RULES, CATALOG, offline, DEFAULTS)
    assert ambiguous.holds[0].reason == "address_unresolved"
    assert "110105" in ambiguous.holds[0].detail and "220104" in ambiguous.holds[0].detail
    fuzzy = decide(order(Address(detail="乌鲁木齐天山区解放北路1号")), RULES, CATALOG, offline, DEFAULTS)
    assert fuzzy.address.adcode == "650102" and not any(h.reason == "address_unresolved" for h in fuzzy.holds)


def test_addresses_abroad_keep_the_platform_split_and_chinese_ones_are_normalised() -> None:
    from app.address import OfflineGeocoder
    from app.domain.model import Address
    from app.routing.geocoding import DomesticGeocoder

    geocoder = DomesticGeocoder(OfflineGeocoder())
    austin = geocoder.normalize(Address(country="US", province="Texas", city="Austin", detail="1 Main St"))
    assert austin.resolved and austin.city == "Austin" and austin.adcode == ""
    assert not geocoder.normalize(Address(country="CN", detail="朝阳区建国路1号")).resolved  # ambiguous: held
    assert geocoder.normalize(Address(detail="浙江杭州西湖区文三路1号")).adcode == "330106"
