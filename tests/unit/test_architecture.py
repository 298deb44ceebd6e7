"""The skeleton, checked from the source: every service has the same rooms, each
room imports only what its job needs, no service imports another, and there are no
import cycles. (docs/architecture.md, "Layout")"""

import ast
from pathlib import Path

import pytest

from services.common.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "services"
# A room is a module or, past ~400 lines, a package of the same name.
ROOMS = {"__init__", "service", "config", "commands", "queries", "payloads", "domain", "models",
         "schemas", "adapters", "migrations", "README.md"}
# the portal's pages and assets, its npm packages, the local OpenID provider for tests, and
# its entrypoints split by area (service.py composes them)
EXTRA = {"templates", "static", "web", "oidc", "entrypoints"}


def _modules():
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts or "node_modules" in path.parts:
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _top_level_imports(name, path):
    """Modules imported by statements at module level (not inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in tree.body:
        nodes = [node]
        if isinstance(node, (ast.If, ast.Try)):
            nodes = list(ast.walk(node))
        for n in nodes:
            if isinstance(n, ast.Import):
                found += [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                if n.level:
                    base = package.split(".")
                    base = base[:len(base) - (n.level - 1)] if n.level > 1 else base
                    mod = ".".join(base + ([n.module] if n.module else []))
                else:
                    mod = n.module
                found.append(mod)
                found += [f"{mod}.{a.name}" for a in n.names]
    return found


def _graph():
    modules = dict(_modules())
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _top_level_imports(name, path) if m in modules and m != name}
    return graph


def _cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            # a package importing its own submodules is not a cycle of the code
            if len(component) > 1 and not _only_package_links(component):
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def _only_package_links(component):
    return all(any(a.startswith(b + ".") or b.startswith(a + ".") for b in component if b != a)
               for a in component)


def test_there_are_no_import_cycles():
    cycles = _cycles(_graph())
    assert cycles == [], cycles


def test_no_service_imports_another():
    graph = _graph()
    crossing = []
    for name, targets in graph.items():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in SERVICES:
            continue
        for target in targets:
            tparts = target.split(".")
            if len(tparts) > 1 and tparts[1] in SERVICES and tparts[1] != parts[1]:
                crossing.append(f"{name} -> {target}")
    assert crossing == []


def _imports_of(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def _room_files(service, room):
    base = SRC / service
    if (base / f"{room}.py").exists():
        return [base / f"{room}.py"]
    return sorted((base / room).rglob("*.py"))


@pytest.mark.parametrize("service", SERVICES)
def test_domain_is_plain_python(service):
    bad = [f"{p.name}: {m}" for p in _room_files(service, "domain") for m in _imports_of(p)
           if m.split(".")[0] in ("sqlalchemy", "nameko", "werkzeug", "kombu", "eventlet")
           or m in ("services.common.http", "services.common.db", "services.common.problems",
                    "services.common.access")]
    assert bad == []


@pytest.mark.parametrize("service", SERVICES)
def test_service_py_holds_entrypoints_and_no_sql(service):
    files = _room_files(service, "service") + (
        _room_files(service, "entrypoints") if (SRC / service / "entrypoints").exists() else [])
    bad = [f"{p.name}: {m}" for p in files for m in _imports_of(p)
           if m.split(".")[0] == "sqlalchemy"]
    assert bad == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_rooms(service):
    here = {p.name if p.suffix not in (".py",) else p.stem
            for p in (SRC / service).iterdir()
            if p.name != "__pycache__" and p.name not in EXTRA}
    assert ROOMS - here == set(), f"{service} lacks {sorted(ROOMS - here)}"
    assert here - ROOMS == set(), f"{service} has rooms the others lack: {sorted(here - ROOMS)}"


def test_no_comment_points_outside_the_repository():
    citing = [str(p.relative_to(ROOT)) for p in list(SRC.rglob("*.py")) + list(
        (ROOT / "tests").rglob("*.py")) + list((ROOT / "bench").rglob("*.py"))
        if "node_modules" not in p.parts and "DESIGN.md" in p.read_text()
        and p.name != "test_architecture.py"]
    assert citing == []
