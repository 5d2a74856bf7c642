"""The one shape every service takes (issue 15), checked so nobody has to remember it.

Each rule is a function of a repository root that returns its findings as lines of text, so it
runs on the real tree and, in the test beside it, on a small bad tree built in tmp_path that
shows the rule would notice.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from shared.config import SERVICES
from shared.messaging.topology import SUBSCRIPTIONS

ROOT = Path(__file__).resolve().parents[2]

# A domain package is pure Python: no web framework, no database, no HTTP, no broker, no schemas.
FORBIDDEN_IN_DOMAIN = frozenset(
    {"flask", "werkzeug", "sqlalchemy", "requests", "pika", "marshmallow"}
)

# The top of services/<svc>/ (docs/architecture.md); handlers.py and worker.py go with
# subscriptions.
REQUIRED = frozenset(
    {"__init__.py", "app.py", "config.py", "deps.py", "models.py", "api", "domain", "use_cases",
     "migrations"}
)  # fmt: skip
OPTIONAL = frozenset({"adapters", "housekeeping.py"})
CONSUMER = frozenset({"handlers.py", "worker.py"})
DAO = ("dao.py", "dao")
ONLY_IN = {"templates": "notification", "dispatcher.py": "notification"}
IGNORED = frozenset({"__pycache__"})

EDGE_LIMIT = 30  # a route or an event handler
FUNCTION_LIMIT = 60
LONG_BECAUSE = "# Long because"
# A migration is the schema's history, written once and never refactored.
LENGTH_EXEMPT = "migrations"


def service_dirs(root: Path) -> Iterator[Path]:
    for path in sorted((root / "services").iterdir()):
        if path.is_dir() and (path / "__init__.py").exists():
            yield path


def python_files(directory: Path) -> Iterator[Path]:
    yield from sorted(p for p in directory.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(root: Path, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line, names) of every import statement in a file, relative ones resolved: the module
    first, then for `from m import a` also `m.a` (which may be a module too)."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, [alias.name]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, [module, *(f"{module}.{alias.name}" for alias in node.names)]


def where(root: Path, path: Path, line: int) -> str:
    return f"{path.relative_to(root).as_posix()}:{line}"


# -- (a) the domain imports no framework and does no I/O -------------------------------------


def domain_import_problems(root: Path) -> list[str]:
    problems = []
    for service in service_dirs(root):
        domain = service / "domain"
        if not domain.is_dir():
            continue
        for path in python_files(domain):
            for line, (module, *_names) in imports(root, path):
                if module.split(".")[0] in FORBIDDEN_IN_DOMAIN:
                    problems.append(f"{where(root, path, line)} imports {module}")
    return sorted(set(problems))


# -- (b) the top of every service holds the agreed names, and each required one -----------------


def layout_problems(root: Path, subscribers: Collection[str]) -> list[str]:
    problems = []
    for service in service_dirs(root):
        name = service.name
        present = {p.name for p in service.iterdir()} - IGNORED
        required = set(REQUIRED) | (CONSUMER if name in subscribers else set())
        allowed = required | OPTIONAL | set(DAO)
        allowed |= {entry for entry, owner in ONLY_IN.items() if owner == name}
        for extra in sorted(present - allowed):
            problems.append(f"services/{name}/{extra} is not part of the agreed shape")
        for missing in sorted(required - present):
            problems.append(f"services/{name}/{missing} is missing")
        if not present & set(DAO):
            problems.append(f"services/{name}/ has neither dao.py nor dao/")
        if present >= set(DAO):
            problems.append(f"services/{name}/ has both dao.py and dao/")
    return problems


# -- (c) a service reaches another only over HTTP or events, never by import ------------------


def cross_service_import_problems(root: Path) -> list[str]:
    problems = []
    services = {path.name for path in service_dirs(root)}
    for service in service_dirs(root):
        others = services - {service.name}
        for path in python_files(service):
            for line, names in imports(root, path):
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "services" and parts[1:2] and parts[1] in others:
                        problems.append(f"{where(root, path, line)} imports {name}")
                        break
    return sorted(set(problems))


# -- (d) thin edges, short functions ------------------------------------------------------------

Function = ast.FunctionDef | ast.AsyncFunctionDef


def length(node: Function) -> int:
    """Lines from the `def` to the function's last line (decorators not counted)."""
    return (node.end_lineno or node.lineno) - node.lineno + 1


def is_route(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    return any(
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr == "route"
        for decorator in node.decorator_list
    )


def explained(node: Function, lines: list[str]) -> bool:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first >= 2 and lines[first - 2].strip().startswith(LONG_BECAUSE)


def edges(tree: ast.Module, path: Path) -> Iterator[tuple[str, Function]]:
    """The routes (functions, or a MethodView's methods, under `<blueprint>.route`) and, in
    handlers.py, the top-level `handle_*` functions."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and is_route(node):
            yield "route", node
        elif isinstance(node, ast.ClassDef) and is_route(node):
            for method in node.body:
                if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield "route", method
    if path.name == "handlers.py":
        for node in tree.body:
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and node.name.startswith("handle_"):
                yield "handler", node


def function_length_problems(root: Path) -> list[str]:
    problems = []
    for service in service_dirs(root):
        for path in python_files(service):
            if LENGTH_EXEMPT in path.relative_to(service).parts:
                continue
            source = path.read_text("utf-8")
            tree = ast.parse(source, str(path))
            lines = source.splitlines()
            for kind, node in edges(tree, path):
                if length(node) > EDGE_LIMIT:
                    problems.append(
                        f"{where(root, path, node.lineno)} {kind} {node.name} is "
                        f"{length(node)} lines (at most {EDGE_LIMIT})"
                    )
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if length(node) > FUNCTION_LIMIT and not explained(node, lines):
                    problems.append(
                        f"{where(root, path, node.lineno)} {node.name} is {length(node)} lines "
                        f"(at most {FUNCTION_LIMIT}, or say `{LONG_BECAUSE} …` above it)"
                    )
    return problems


# -- the real tree ------------------------------------------------------------------------------


def of(service: str, problems: list[str]) -> list[str]:
    return [problem for problem in problems if problem.startswith(f"services/{service}/")]


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_imports_no_framework_database_http_or_broker(service):
    assert of(service, domain_import_problems(ROOT)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_has_exactly_the_agreed_top_level_names(service):
    subscribers = {s for s in SERVICES if SUBSCRIPTIONS[s]}
    assert of(service, layout_problems(ROOT, subscribers)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_imports_no_other_service(service):
    assert of(service, cross_service_import_problems(ROOT)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_routes_and_handlers_are_thin_and_functions_short(service):
    assert of(service, function_length_problems(ROOT)) == []


def test_the_services_on_disk_are_the_configured_ones():
    assert sorted(path.name for path in service_dirs(ROOT)) == sorted(SERVICES)


# -- each rule notices a bad example --------------------------------------------------------------


def write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def good_service(root: Path, name: str, *, consumer: bool = False) -> None:
    for entry in ("__init__.py", "app.py", "config.py", "deps.py", "models.py", "dao.py"):
        write(root, f"services/{name}/{entry}")
    for package in ("api", "domain", "use_cases", "adapters", "migrations"):
        write(root, f"services/{name}/{package}/__init__.py")
    if consumer:
        write(root, f"services/{name}/handlers.py")
        write(root, f"services/{name}/worker.py")
    write(root, "services/__init__.py")


def test_the_domain_rule_notices_a_from_import_of_sqlalchemy_and_an_import_of_flask(tmp_path):
    good_service(tmp_path, "shop")
    write(tmp_path, "services/shop/domain/orders.py", "import enum\nimport flask.json\n")
    write(
        tmp_path,
        "services/shop/domain/rules/totals.py",
        "from decimal import Decimal\n\n\ndef f():\n    from sqlalchemy.orm import Session\n",
    )
    assert domain_import_problems(tmp_path) == [
        "services/shop/domain/orders.py:2 imports flask.json",
        "services/shop/domain/rules/totals.py:5 imports sqlalchemy.orm",
    ]


def test_the_layout_rule_notices_a_loose_module_a_missing_package_and_a_missing_worker(tmp_path):
    good_service(tmp_path, "shop", consumer=True)
    good_service(tmp_path, "till")
    write(tmp_path, "services/shop/runtime.py")
    (tmp_path / "services/shop/use_cases/__init__.py").unlink()
    (tmp_path / "services/shop/use_cases").rmdir()
    (tmp_path / "services/shop/worker.py").unlink()
    write(tmp_path, "services/till/templates/receipt.txt")
    write(tmp_path, "services/till/dao/__init__.py")
    (tmp_path / "services/till/__pycache__").mkdir()
    assert layout_problems(tmp_path, subscribers={"shop"}) == [
        "services/shop/runtime.py is not part of the agreed shape",
        "services/shop/use_cases is missing",
        "services/shop/worker.py is missing",
        "services/till/templates is not part of the agreed shape",
        "services/till/ has both dao.py and dao/",
    ]


def test_the_layout_rule_notices_handlers_in_a_service_without_subscriptions(tmp_path):
    good_service(tmp_path, "shop", consumer=True)
    assert layout_problems(tmp_path, subscribers=set()) == [
        "services/shop/handlers.py is not part of the agreed shape",
        "services/shop/worker.py is not part of the agreed shape",
    ]


def test_the_cross_service_rule_notices_absolute_relative_and_package_imports(tmp_path):
    good_service(tmp_path, "shop")
    good_service(tmp_path, "till")
    write(tmp_path, "services/shop/api/orders.py", "from services.till.dao import dao_get_till\n")
    write(tmp_path, "services/shop/use_cases/pay.py", "from ...till import models\n")
    write(
        tmp_path, "services/shop/adapters/x.py", "from services import till\nimport services.shop\n"
    )
    assert cross_service_import_problems(tmp_path) == [
        "services/shop/adapters/x.py:1 imports services.till",
        "services/shop/api/orders.py:1 imports services.till.dao",
        "services/shop/use_cases/pay.py:1 imports services.till",
    ]


def body(lines: int) -> str:
    return "".join(f"    x{i} = {i}\n" for i in range(lines - 1))


def test_the_length_rule_notices_a_fat_route_a_fat_handler_and_an_unexplained_long_function(
    tmp_path,
):
    good_service(tmp_path, "shop", consumer=True)
    route = '@blp.route("/orders")\n@blp.response(200)\ndef list_orders():\n' + body(31)
    short_route = '@blp.route("/orders/<id>")\ndef get_order(id):\n' + body(30)
    method_view = '@blp.route("/refunds")\nclass Refunds(MethodView):\n    def post(self):\n'
    method_view += body(31).replace("    ", "        ")
    write(tmp_path, "services/shop/api/orders.py", f"{route}\n\n{short_route}\n\n{method_view}")
    handler = "def handle_order_paid(deps, uow, event):\n" + body(31)
    not_a_handler = "def unpack(event):\n" + body(31)
    write(tmp_path, "services/shop/handlers.py", handler + "\n\n" + not_a_handler)
    long = "def settle():\n" + body(61)
    explained_long = "# Long because one table of rates reads best in one place.\n"
    explained_long += "@functools.cache\ndef rates():\n" + body(61)
    write(tmp_path, "services/shop/use_cases/settle.py", long + "\n\n" + explained_long)
    write(
        tmp_path, "services/shop/migrations/versions/0001_first.py", "def upgrade():\n" + body(99)
    )
    assert function_length_problems(tmp_path) == [
        "services/shop/api/orders.py:3 route list_orders is 31 lines (at most 30)",
        "services/shop/api/orders.py:71 route post is 31 lines (at most 30)",
        "services/shop/handlers.py:1 handler handle_order_paid is 31 lines (at most 30)",
        "services/shop/use_cases/settle.py:1 settle is 61 lines "
        "(at most 60, or say `# Long because …` above it)",
    ]
