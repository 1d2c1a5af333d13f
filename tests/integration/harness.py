"""Integration harness: a per-test topic prefix, worker subprocesses, produce and collect."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from app.admin import all_topics, ensure_topics
from app.brokers import free_port
from app.demo import start_worker, wait_ready, worker_env
from app.log_ends import log_end_offsets
from app.topic_names import TopicNames

PARTITIONS = 4


class Pipeline:
    """One isolated orderhub deployment on a shared broker: its own prefix, group and data dirs."""

    def __init__(self, bootstrap: str, tmp: Path) -> None:
        self.bootstrap = bootstrap
        self.tmp = tmp
        self.prefix = f"it-{uuid.uuid4().hex[:10]}"
        self.names = TopicNames(self.prefix)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.log_path = tmp / "worker.log"
        self.web_ports: dict[str, int] = {}
        #: extra ORDERHUB_* settings for the workers this pipeline starts
        self.extra_env: dict[str, str] = {}

    async def create_topics(self) -> None:
        await ensure_topics(self.bootstrap, all_topics(self.names), partitions=PARTITIONS)

    def env(self, data_dir: Path) -> dict[str, str]:
        env = worker_env(self.bootstrap, self.prefix, data_dir, PARTITIONS)
        env["ORDERHUB_LOG_LEVEL"] = "INFO"  # the tests read the worker's INFO lines
        env["ORDERHUB_PROCESSING_GUARANTEE"] = "auto"
        # no WMS answers in most tests: without this their SHIP commands would be re-sent after the SLA
        # (test_watchdog.py turns the watchdog on)
        env["ORDERHUB_WATCHDOG_INTERVAL_S"] = "0"
        env.update(self.extra_env)
        return env

    def start_worker(self, name: str = "w1", *, web_port: int | None = None,
                     extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a worker; with `web_port` its web server listens on 127.0.0.1:web_port."""
        data_dir = self.tmp / name
        data_dir.mkdir(exist_ok=True)
        (data_dir / "ready").unlink(missing_ok=True)
        env = {**self.env(data_dir), **(extra_env or {})}
        # each worker its own URL: Faust's assignor tells group members apart by it
        port = web_port if web_port is not None else self.web_ports.setdefault(name, free_port())
        env["ORDERHUB_WEB_PORT"] = str(port)
        if web_port is None:
            proc = start_worker(env, self.log_path)
        else:
            env["ORDERHUB_WEB_HOST"] = "127.0.0.1"
            proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=env,
                                    stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self._note(f"worker {name!r} started: pid {proc.pid}")
        wait_ready(proc, data_dir, self.log_path, timeout=120)
        self.workers.append(proc)
        return proc

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `orderhub <args>` against this pipeline's broker and prefix."""
        return subprocess.run([sys.executable, "-m", "app.cli", *args], env=self.env(self.tmp / "cli"),
                              capture_output=True, text=True, timeout=timeout)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self._note(f"worker pid {proc.pid} killed (SIGKILL)")

    def _note(self, line: str) -> None:
        """A line of the test's own in the workers' log, to read their lines against."""
        with self.log_path.open("a") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} harness: {line}\n")

    def stop(self, proc: subprocess.Popen[bytes]) -> int:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                # mode's worker prints every thread's and task's stack on SIGUSR1: say where it hangs
                proc.send_signal(signal.SIGUSR1)
                time.sleep(3)
                proc.kill()
                proc.wait()
                print(f"worker {proc.pid} ignored SIGTERM for 60 s and was killed; its log ends:\n"
                      f"{self.log_tail(200)}", file=sys.stderr)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in self.workers:
            self.stop(proc)

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_lines()[-n:])

    def log_lines(self) -> list[str]:
        """Every line the workers (and the harness's notes) wrote so far."""
        if not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()

    def log_entries(self, containing: str = "") -> list[dict[str, Any]]:
        """The workers' JSON log lines (those with `containing` in them), parsed; a line may
        start with a terminal control sequence, and the harness's notes are not JSON."""
        return [entry for line in self.log_lines() if containing in line
                and (entry := parse_log_line(line)) is not None]

    async def produce(self, messages: Iterable[tuple[str, bytes | None, bytes]], *, pace_s: float = 0.0) -> int:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5,
                                    max_request_size=8 * 1024 * 1024)
        await producer.start()
        count = 0
        try:
            for topic, key, value in messages:
                await producer.send(topic, key=key, value=value)
                count += 1
                if pace_s:
                    await asyncio.sleep(pace_s)
            await producer.flush()
        finally:
            await producer.stop()
        return count

    async def produce_aborted(self, topic: str, *, records: int = 3) -> None:
        """An aborted transaction of `records` records (and its abort marker) on every partition
        of `topic`: what a killed worker leaves behind. read_committed consumers skip it."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap,
                                    transactional_id=f"{self.prefix}-aborted-{uuid.uuid4().hex[:8]}")
        await producer.start()
        try:
            await producer.begin_transaction()
            for partition in range(PARTITIONS):
                for _ in range(records):
                    await producer.send(topic, key=b"aborted", value=b"{}", partition=partition)
            await producer.flush()
            await producer.abort_transaction()
        finally:
            await producer.stop()

    async def collect(self, topic: str, *, until: Callable[[list[dict[str, Any]]], bool],
                      timeout: float = 60.0, settle: float = 1.0, strict: bool = True,  # noqa: ASYNC109
                      idle_timeout: float | None = None) -> list[dict[str, Any]]:
        """Read `topic` from the start (read_committed) until `until(records)` holds, then `settle` more
        seconds so that a late duplicate would be seen too. Fails with what it has on timeout.

        With `idle_timeout`, give up after that many seconds without a new record (a stall),
        while records keep coming for at most `timeout` seconds: a slow shared machine is
        not a failure, a stopped pipeline is."""
        consumer = await self._reader(topic)
        records: list[dict[str, Any]] = []
        try:
            started = time.monotonic()
            deadline = started + (idle_timeout if idle_timeout is not None else timeout)
            done_at: float | None = None
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for recs in batch.values():
                    records.extend(orjson.loads(r.value) for r in recs)
                now = time.monotonic()
                if batch and idle_timeout is not None:
                    deadline = min(started + timeout, now + idle_timeout)
                if done_at is None and until(records):
                    done_at = now
                if done_at is not None and now - done_at >= settle:
                    return records
                if now > deadline:
                    if not strict:
                        return records
                    raise AssertionError(f"timed out after {timeout:.0f} s on {topic} with {len(records)} "
                                         f"records; worker log tail:\n{self.log_tail()}")
        finally:
            await consumer.stop()

    async def read_all(self, topic: str, *, timeout: float = 180.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Every record of `topic` committed when the call starts (read_committed, up to each
        partition's last stable offset). Unlike `collect` with a short timeout, it neither cuts
        a long topic short on a loaded machine nor waits once the end is reached."""
        consumer = await self._reader(topic)
        records: list[dict[str, Any]] = []
        try:
            partitions = sorted(consumer.assignment())
            ends = await consumer.end_offsets(partitions)
            deadline = time.monotonic() + timeout
            while behind := [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{topic}: not read to its end within {timeout:.0f} s "
                                         f"({len(records)} records, behind on {behind})")
                batch = await consumer.getmany(*behind, timeout_ms=200)
                for recs in batch.values():
                    records.extend(orjson.loads(r.value) for r in recs)
            return records
        finally:
            await consumer.stop()

    async def _reader(self, topic: str) -> AIOKafkaConsumer:
        """A started read_committed consumer on every partition of `topic`, at its beginning."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
                                    isolation_level="read_committed", enable_auto_commit=False,
                                    fetch_max_wait_ms=100, max_partition_fetch_bytes=16 * 1024 * 1024)
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
            await consumer.seek_to_beginning()
        except BaseException:
            await consumer.stop()
            raise
        return consumer


def parse_log_line(line: str) -> dict[str, Any] | None:
    """A worker's JSON log line, parsed; None for the harness's notes and other text. A line
    may start with a terminal control sequence."""
    if "{" not in line:
        return None
    try:
        entry = orjson.loads(line[line.index("{"):])
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def final_orders(order_events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last state of each order seen on `order-events` (its highest version)."""
    last: dict[str, dict[str, Any]] = {}
    for event in order_events:
        order = event["order"]
        if order["oli"] not in last or order["version"] >= last[order["oli"]]["version"]:
            last[order["oli"]] = order
    return last


async def wait_inputs_consumed(p: Pipeline, topics: Iterable[str], timeout: float = 60.0,  # noqa: ASYNC109
                               limit: float = 600.0) -> dict[str, int]:
    """Wait until the group's committed offsets reach the end of `topics`; return what is left
    per partition if they do not. Under exactly_once the workers write the lanes of order
    inputs in transactions: a partition whose committed offset is followed by transaction
    markers only is consumed to its end.

    Gives up once nothing has moved for `timeout` seconds (a stuck offset), or after `limit`:
    on a loaded machine the unpaid lane, held back while paid orders wait, can still be
    draining when every command is out (one traced run needed more than 60 s for it)."""
    from aiokafka.admin import AIOKafkaAdminClient

    from app.lag_reader import MARKER_SLACK, only_markers
    from app.log_ends import LogEnds

    admin = AIOKafkaAdminClient(bootstrap_servers=p.bootstrap)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=p.bootstrap, isolation_level="read_committed",
                                enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        ends_of = LogEnds(consumer)
        tps = [TopicPartition(t, i) for t in topics for i in range(PARTITIONS)]
        started = time.monotonic()
        deadline = started + timeout
        behind = None
        while True:
            committed = await admin.list_consumer_group_offsets(p.prefix, partitions=tps)
            ends = await ends_of(tps)
            left: dict[str, int] = {}
            for tp in tps:
                meta = committed.get(tp)
                done = meta.offset if meta is not None and meta.offset >= 0 else 0
                lag = ends[tp] - done
                if 0 < lag <= MARKER_SLACK and await only_markers(consumer, tp, done, ends[tp], timeout_s=2.0):
                    lag = 0
                if lag > 0:
                    left[f"{tp.topic}[{tp.partition}]"] = lag
            now = time.monotonic()
            if behind is None or sum(left.values()) < behind:  # progress: wait on, within the limit
                behind = sum(left.values())
                deadline = min(started + limit, now + timeout)
            if not left or now > deadline:
                return left
            await asyncio.sleep(1.0)
    finally:
        await consumer.stop()
        await admin.close()


async def diagnose(p: Pipeline, olis: set[str]) -> str:
    """Where did these orders stop? Committed offsets vs log end, and what each topic holds for them."""
    from aiokafka.admin import AIOKafkaAdminClient

    lines = []
    admin = AIOKafkaAdminClient(bootstrap_servers=p.bootstrap)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=p.bootstrap, isolation_level="read_committed")
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(p.prefix)
        tps = [TopicPartition(t, i) for t in (p.names.channel_orders, p.names.payments, p.names.order_inputs)
               for i in range(PARTITIONS)]
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            meta = committed.get(tp)
            lines.append(f"{tp.topic}[{tp.partition}] committed={meta.offset if meta else None} end={ends[tp]}")
    finally:
        await consumer.stop()
        await admin.close()
    for topic in (p.names.order_inputs, p.names.order_events):
        recs = await p.collect(topic, until=lambda r: False, timeout=5, settle=0, strict=False)
        hits = [r for r in recs if (r.get("oli") or (r.get("order") or r.get("payment") or {}).get("oli")
                                    or "") in olis or _oli_of(r) in olis]
        lines.append(f"{topic}: {len(recs)} records, {len(hits)} for these orders: "
                     + "; ".join(sorted({str(h.get('type') or h.get('kind')) for h in hits})))
    return "\n".join(lines)


async def duplicate_report(p: Pipeline, command_ids: set[str]) -> str:
    """Where the copies of these commands sit (partition, offset, write time, origin and trace
    headers), where their orders' inputs sit on the two lanes, and the workers' log lines about
    rebalances, transactions, these orders and (with ORDERHUB_TRACE_OFFSETS=1) those inputs."""
    olis = {c.split("@")[0] for c in command_ids}
    lines = []
    inputs: set[tuple[str, int]] = set()
    topics = (p.names.fulfillment_commands, p.names.order_inputs_paid, p.names.order_inputs)
    for r in await _records_about(p, topics, {oli.encode() for oli in olis}, "read_committed"):
        if r.topic != p.names.fulfillment_commands:
            inputs.add((f"{r.topic}[{r.partition}]", r.offset))
            lines.append(f"input {r.key.decode()} {r.topic}[{r.partition}]@{r.offset} "
                         f"timestamp={r.timestamp} {r.value[:160]!r}")
            continue
        value = orjson.loads(r.value)
        if value.get("command_id") in command_ids:
            headers = {k: v.decode(errors="replace") for k, v in r.headers}
            lines.append(f"{value['command_id']} {value['oli']} attempt={value.get('attempt')} "
                         f"partition={r.partition} offset={r.offset} timestamp={r.timestamp} "
                         f"headers={headers}")
    return "\n".join(lines + ["worker log (rebalances, transactions, these orders and inputs):"]
                     + _log_lines_about(p, olis, inputs))


#: log lines that tell where a record went between workers: rebalances, transactions, seeks, crashes
_CONTEXT_WORDS = ("Discarded commit", "transactional", "begin_transaction", "fenced", "Fenced", "revoked",
                  "generation id", "worker.starting", "paid_first", "crash", "harness:", "trace.seek", "trace.gap",
                  "trace.flow", "trace.recovery", "event_skipped")


def _log_lines_about(p: Pipeline, olis: set[str], inputs: set[tuple[str, int]], limit: int = 300) -> list[str]:
    """The workers' log lines about rebalances and transactions, about these orders, and (with
    ORDERHUB_TRACE_OFFSETS=1) about these input records: their trace lines, the fetches that
    returned them and, per worker, the first commit that moved past each of them."""
    words = (*_CONTEXT_WORDS, *olis)
    offsets_of: dict[str, list[int]] = {}
    for tp, offset in inputs:
        offsets_of.setdefault(tp, []).append(offset)
    passed: set[tuple[int | None, str, int]] = set()  # (pid, tp, offset) a commit moved past

    def wanted(line: str) -> bool:
        if any(w in line for w in words):
            return True
        entry = parse_log_line(line) if '"trace.' in line else None
        if entry is None:
            return False
        if (entry.get("tp"), entry.get("offset")) in inputs:
            return True
        if entry.get("event") == "trace.fetched":
            return any(first <= offset <= last for tp, (first, last, _) in (entry.get("ranges") or {}).items()
                       for offset in offsets_of.get(tp, ()))
        if entry.get("event") == "trace.commit":
            crossed = {(entry.get("pid"), tp, offset) for tp, committed in (entry.get("offsets") or {}).items()
                       for offset in offsets_of.get(tp, ()) if committed > offset} - passed
            passed.update(crossed)
            return bool(crossed)
        return False

    return [line for line in p.log_lines() if wanted(line)][-limit:]


async def _records_about(p: Pipeline, topics: Iterable[str], keys: set[bytes], isolation_level: str,
                         ) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topics` keyed by one of `keys`, to the true log end (the restart test
    runs on the embedded broker too)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=p.bootstrap, isolation_level=isolation_level,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found = []
    try:
        tps = [TopicPartition(t, i) for t in topics for i in range(PARTITIONS)]
        ends = await log_end_offsets(consumer, tps)  # leaves the partitions assigned and paused
        consumer.assign(tps)
        consumer.resume(*tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 120
        while any([await consumer.position(tp) < ends[tp] for tp in tps]) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                found += [r for r in records if r.key in keys]
    finally:
        await consumer.stop()
    return found


async def lost_report(p: Pipeline, stories: Iterable[Any]) -> str:
    """For orders that never reached `order-events`: every record of theirs on the inputs, the
    lanes, the outputs and the orders changelog, read committed and uncommitted (a record only
    the second sees belongs to an aborted or open transaction), the group's committed offsets
    of those partitions, and the workers' log and trace lines about them."""
    from aiokafka.admin import AIOKafkaAdminClient

    stories = list(stories)
    olis = {s.oli for s in stories}
    keys = {oli.encode() for oli in olis} | {send.key for s in stories for send in s.sends}
    names = p.names
    inputs_topics = (names.channel_orders, names.payments, names.order_inputs_paid, names.order_inputs)
    topics = (*inputs_topics, names.order_events, names.fulfillment_commands, f"{p.prefix}-orders-changelog")
    committed = {(r.topic, r.partition, r.offset) for r in await _records_about(p, topics, keys, "read_committed")}
    everything = await _records_about(p, topics, keys, "read_uncommitted")
    lines, inputs = [], set()
    admin = AIOKafkaAdminClient(bootstrap_servers=p.bootstrap)
    await admin.start()
    try:
        group = await admin.list_consumer_group_offsets(p.prefix)
    except Exception as exc:  # noqa: BLE001 — a report of what is known beats none
        group = {}
        lines.append(f"(the group's committed offsets could not be read: {exc!r})")
    finally:
        await admin.close()
    for r in sorted(everything, key=lambda r: r.timestamp):
        tp = TopicPartition(r.topic, r.partition)
        state = "committed" if (r.topic, r.partition, r.offset) in committed else "NOT COMMITTED (aborted or open)"
        at = f" group committed={group[tp].offset}" if tp in group else ""
        if r.topic in inputs_topics:
            inputs.add((f"{r.topic}[{r.partition}]", r.offset))
        lines.append(f"{r.topic}[{r.partition}]@{r.offset} {state} timestamp={r.timestamp}{at} {(r.value or b'')[:120]!r}")
    return "\n".join([f"records of {sorted(olis)}:", *lines, "worker log (rebalances, transactions, these "
                      "orders and their input records):", *_log_lines_about(p, olis, inputs)])


def _oli_of(record: dict[str, Any]) -> str:
    from app.domain.identity import make_oli

    item = record.get("order") or record.get("payment")
    if record.get("kind") == "payment" and item:
        return make_oli(item["channel"], item["shop_id"], item["external_id"])
    return (item or record).get("oli", "")
