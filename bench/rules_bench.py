"""Benchmark: routing decisions with 100 enabled rules per order, on one core.

Prints the median microseconds per order for:
  realistic   100 rules as an operations team writes them: most scoped to a province,
              city or channel (the pre-filter skips those that cannot match), some global;
  worst case  100 rules the pre-filter cannot decide (every rule run by CEL for every order);
each as rules evaluation alone and as the full decision (geocoder + weighing + facts +
rules). Also the naive way (a fresh dict per rule evaluation, every fact, no pre-filter)
for comparison. Run: .venv/bin/python bench/rules_bench.py [--orders 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime

from app.catalog import Catalog, SkuEntry, weigh
from app.domain.model import Address, Amounts, Line, Order, OrderStatus, Receiver
from app.domain.transitions import RoutingDefaults
from app.routing import SplitFieldsGeocoder, decide
from app.rules import FACTS, Rule, RuleSet, compute_facts, evaluate

PROVINCES = {
    "新疆维吾尔自治区": ["乌鲁木齐市", "克拉玛依市", "喀什地区"], "西藏自治区": ["拉萨市", "日喀则市"],
    "青海省": ["西宁市"], "内蒙古自治区": ["呼和浩特市", "包头市"], "宁夏回族自治区": ["银川市"],
    "甘肃省": ["兰州市"], "广西壮族自治区": ["南宁市", "桂林市"], "浙江省": ["杭州市", "宁波市", "温州市"],
    "广东省": ["广州市", "深圳市", "东莞市"], "江苏省": ["南京市", "苏州市"], "北京市": ["北京市"],
    "上海市": ["上海市"], "四川省": ["成都市"], "湖北省": ["武汉市"], "河南省": ["郑州市", "济源市"],
    "山东省": ["济南市", "青岛市"], "福建省": ["福州市", "厦门市"], "海南省": ["海口市", "三亚市"],
    "云南省": ["昆明市"], "贵州省": ["贵阳市"], "黑龙江省": ["哈尔滨市"], "吉林省": ["长春市"],
    "辽宁省": ["沈阳市", "大连市"], "河北省": ["石家庄市"], "山西省": ["太原市"], "陕西省": ["西安市"],
    "湖南省": ["长沙市"], "江西省": ["南昌市"], "安徽省": ["合肥市"], "天津市": ["天津市"], "重庆市": ["重庆市"],
}
CHANNELS = ["taobao", "tmall", "douyin", "jd", "pdd"]
CARRIERS = ["SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD"]


def _rule(i: int, when: str, *then: dict[str, str]) -> Rule:
    return Rule.from_dict({"id": f"r{i:03d}", "priority": i, "when": when, "then": list(then)})


CLOCK = "cpu"


def realistic_rules() -> list[Rule]:
    rng = random.Random(1)
    rules = []
    provinces = list(PROVINCES)
    for i, province in enumerate(provinces):  # 31: carrier and warehouse per province
        rules.append(_rule(len(rules), f'province == "{province}" && weight_g > {rng.choice([0, 1000, 3000])}',
                           {"set_carrier": rng.choice(CARRIERS)}, {"set_warehouse": f"WH-{i % 6}"}))
    cities = [(p, c) for p, cs in PROVINCES.items() for c in cs]
    for _p, c in rng.sample(cities, 30):  # 30 city-scoped exceptions
        rules.append(_rule(len(rules), f'city == "{c}" && (weight_g > 2000 || total_fen > 100000)',
                           {"set_carrier": "EMS"}, {"add_tag": "city-rule"}))
    for ch in CHANNELS:  # 10 channel-scoped
        rules.append(_rule(len(rules), f'channel == "{ch}" && "presale" in tags', {"hold": "presale_wait"}))
        rules.append(_rule(len(rules), f'channel in ["{ch}"] && line_count > 3', {"add_tag": "multi-line"}))
    for i in range(29):  # 29 global rules every order is evaluated against
        kind = i % 5
        when = [f"total_fen > {500000 + i * 1000}", f"weight_g > {20000 + i * 500}",
                f'skus.exists(s, s.startsWith("GIFT-{i}"))', f'buyer_memo.contains("暂不发货{i}")',
                f'"fragile-{i}" in categories && weight_g > 500'][kind]
        action = [{"require_approval": "high_value"}, {"set_carrier": "JD"}, {"add_tag": "gift"},
                  {"hold": "buyer_wait"}, {"set_carrier": "SF"}][kind]
        rules.append(_rule(len(rules), when, action))
    assert len(rules) == 100
    return rules


def worst_case_rules() -> list[Rule]:
    """100 rules none of which the pre-filter can decide: every one goes to CEL for every order."""
    rules = []
    for i in range(100):
        when = [f'city.contains("{list(PROVINCES)[i % 31][:2]}") || weight_g > {20000 + i * 100}',
                f"size(skus) > {i % 4} && (total_fen > {i * 5000} || line_count >= {i % 4})",
                f'"tag{i}" in tags || quantity > {50 + i}',
                f'skus.exists(s, s == "SKU-{i}")'][i % 4]
        rules.append(_rule(i, when, {"add_tag": f"t{i}"} if i % 2 else {"set_carrier": CARRIERS[i % 7]}))
    return rules


def catalog() -> Catalog:
    return Catalog([SkuEntry(ch, f"INT-{i}", 100 + i * 37 % 5000, sku_id=f"SKU-{i}", category="fragile-1"
                             if i % 10 == 0 else "general", warehouses=("WH-0", "WH-1"))
                    for ch in CHANNELS for i in range(200)])


def orders(n: int) -> list[Order]:
    rng = random.Random(7)
    out = []
    t = datetime(2026, 11, 11, tzinfo=UTC)
    for i in range(n):
        province = rng.choice(list(PROVINCES))
        city = rng.choice(PROVINCES[province])
        lines = tuple(Line(str(j), f"SKU-{rng.randrange(200)}", quantity=rng.randint(1, 3))
                      for j in range(rng.choice([1, 1, 1, 2, 3, 5])))
        out.append(Order(
            oli=f"tb-s-{i}", version=2, channel=rng.choice(CHANNELS), shop_id="s", external_id=str(i),
            status=OrderStatus.PAID, channel_status="PAID", updated_at=t,
            receiver=Receiver("张*", "138****0000", Address(province=province, city=city, district="某区",
                                                              detail="某路1号")),
            lines=lines, amounts=Amounts(total=rng.randint(1000, 800000)), tags=("presale",) if i % 20 == 0 else (),
            buyer_memo=rng.choice(["", "周末送", "暂不发货3"])))
    return out


def _needs_cel(compiled, facts) -> bool:  # type: ignore[no-untyped-def]
    pre = compiled.prefilter
    if pre is None:
        return True
    outcomes = [c.decide(facts) for c in pre.checks]
    if False in outcomes:
        return False
    return not (pre.complete and None not in outcomes)


def _median_us(fn, items, rounds: int) -> float:  # type: ignore[no-untyped-def]
    """Median per-order time. CPU time of this thread: on a shared machine wall time also counts
    the slices other processes ran in (both clocks agree on an idle machine)."""
    samples = []
    clock = time.thread_time_ns if CLOCK == "cpu" else time.perf_counter_ns
    for _ in range(rounds):
        for item in items:
            start = clock()
            fn(item)
            samples.append(clock() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="thread CPU time (default) or wall time per order")
    args = parser.parse_args()
    global CLOCK
    CLOCK = args.clock
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    cat = catalog()
    items = orders(args.orders)
    print(f"{args.orders} orders x {args.rounds} rounds, 100 enabled rules, one core; "
          f"median µs per order ({args.clock} time)")
    for label, rules in (("realistic", realistic_rules()), ("worst case", worst_case_rules())):
        scenario(label, rules, items, cat, args.rounds)


def scenario(label: str, rules: list[Rule], items: list[Order], cat: Catalog, rounds: int) -> None:
    geo, defaults = SplitFieldsGeocoder(), RoutingDefaults()
    ruleset = RuleSet(rules)
    with_checks = sum(c.prefilter is not None for c in ruleset.active)
    facts = {o.oli: compute_facts(o, weigh(o, cat), geo.normalize(o.receiver.address), names=ruleset.facts)
             for o in items}
    by_cel = statistics.mean(sum(1 for c in ruleset.active if _needs_cel(c, facts[o.oli])) for o in items)
    for o in items[:50]:  # warm up
        decide(o, ruleset, cat, geo, defaults)
    rules_us = _median_us(lambda o: evaluate(ruleset, facts[o.oli]), items, rounds)
    full_us = _median_us(lambda o: decide(o, ruleset, cat, geo, defaults), items, rounds)
    print(f"{label:>10}: {with_checks:3d} rules with pre-filter checks, {by_cel:5.1f} run by CEL per order | "
          f"rules {rules_us:7.1f} µs | full decision {full_us:7.1f} µs")
    if label != "realistic":
        return
    plain = RuleSet(rules, use_prefilter=False)
    no_filter = _median_us(lambda o: evaluate(plain, facts[o.oli]), items, rounds)
    flat = frozenset(FACTS) - {"order"}
    all_facts = {o.oli: compute_facts(o, weigh(o, cat), geo.normalize(o.receiver.address), names=flat)
                 for o in items}
    programs = [c.program for c in ruleset.active]

    def naive(o: Order) -> None:
        for program in programs:
            try:
                program.execute(all_facts[o.oli])
            except Exception:  # noqa: BLE001, S110 — a benchmark of the naive loop
                pass

    naive_us = _median_us(naive, items[: max(200, len(items) // 10)], 1)
    print(f"{'':>10}  CEL alone (no pre-filter): rules {no_filter:7.1f} µs | "
          f"naive (a dict of all flat facts per evaluation): {naive_us:8.1f} µs")


if __name__ == "__main__":
    main()
