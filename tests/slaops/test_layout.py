"""The layout: dependencies point one way, core ← calendars ← accounts ← funnel ← leads ← sla.

An app imports only those to its left; the project wiring (`slaops`), the health check
and the demo data sit on top and may import any app. Function-level imports count too:
hiding an import inside a function does not make a cycle go away.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["core", "calendars", "accounts", "funnel", "leads", "sla", "integrations"]
TOP = {"health": {"core"}, "demo": set(ORDER), "slaops": set(ORDER) | {"health", "demo"}}
APPS = [*ORDER, *TOP]


def allowed(app: str) -> set[str]:
    if app in TOP:
        return TOP[app] | {app}
    return set(ORDER[: ORDER.index(app) + 1])


def imported_apps(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in APPS:
                found.add((top, node.lineno))
    return found


def modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


@pytest.mark.parametrize(
    ("app", "path"),
    list(modules()),
    ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v,
)
def test_an_app_imports_only_the_apps_to_its_left(app, path):
    wrong = sorted(
        f"line {line}: imports {target}"
        for target, line in imported_apps(path)
        if target not in allowed(app)
    )
    assert not wrong, f"{path.relative_to(ROOT)} points the wrong way: {wrong}"


def test_every_app_is_placed_in_the_order():
    packages = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert packages <= set(APPS), f"place {packages - set(APPS)} in the layout order"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    names = {module_name(path): path for _, path in modules()}
    graph = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            targets |= {c for c in candidates if c in names and c != name}
        graph[name] = targets
    return graph


def test_no_import_cycle_between_modules_not_even_inside_functions():
    graph = import_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)
