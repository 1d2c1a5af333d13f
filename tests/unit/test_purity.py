"""The pure layers (app/domain, app/channels) import no I/O library and no runtime package.

Checked on the source (ast), so a forbidden import is caught even inside a function or an
``if TYPE_CHECKING`` block, and relative imports are resolved before checking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("app/domain", "app/channels", "app/address", "app/rules", "app/catalog", "app/routing",
                 "app/operations", "app/console", "app/platforms")
FORBIDDEN = ("faust", "aiokafka", "aiohttp", "structlog", "rocksdict", "agents", "tables")
#: what "never read the clock, never log" means for the channel adapters
IMPURE_FOR_ADAPTERS = ("logging", "time", "random", "socket", "os", "subprocess")
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter"})


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


#: pure modules inside packages that also hold wiring
PURE_MODULES = ("app/bench/workload.py", "app/connectors/cursor.py", "app/connectors/pacing.py",
                "app/connectors/shops.py", "app/connectors/errors.py", "app/simulator/world.py",
                "app/simulator/render.py")
ALL_MODULES = [p for pkg in PURE_PACKAGES for p in _modules(pkg)] + [ROOT / m for m in PURE_MODULES]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module the file imports, absolute, with its line number."""
    return _imports(path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py")


def _imports(source: str, module_name: str, is_package: bool) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    package = module_name.split(".")
    if not is_package:
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("__import__", "import_module") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value))
    return found


def _is_under(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def test_pure_packages_are_found() -> None:
    names = {_module_name(p) for p in ALL_MODULES}
    assert {"app.domain.model", "app.channels", "app.channels.taobao", "app.channels.convert",
            "app.bench.workload"} <= names


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_io_imports(path: Path) -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for line, module in _imported_names(path)
        if _is_under(module, FORBIDDEN) or _is_under(module, tuple(f"app.{n}" for n in FORBIDDEN))
    ]
    assert not bad, "pure module imports an I/O/runtime package:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", _modules("app/channels"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_do_not_log_or_read_the_clock(path: Path) -> None:
    bad = [f"{line}: import {m}" for line, m in _imported_names(path) if _is_under(m, IMPURE_FOR_ADAPTERS)]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
                bad.append(f"{node.lineno}: call .{func.attr}()")
            if isinstance(func, ast.Name) and func.id == "print":
                bad.append(f"{node.lineno}: print()")
    assert not bad, f"{path.relative_to(ROOT)} is not pure:\n" + "\n".join(bad)


def test_the_checker_catches_forbidden_imports() -> None:
    """The ast walk itself works (absolute, relative, nested and dynamic imports)."""
    source = (
        "import aiokafka.producer\n"
        "def f():\n    from structlog import get_logger\n"
        "from ..tables import orders\n"
        "from .. import agents\n"
        "import importlib\nimportlib.import_module('faust')\n"
    )
    names = [m for _, m in _imports(source, "app.channels.x", is_package=False)]
    assert "aiokafka.producer" in names and "structlog" in names and "faust" in names
    assert "app.tables" in names and "app.agents" in names
