"""Dependencies run one way (README, "Dependencies run one way"). Every module of ``marketplace/``
is parsed with ``ast`` (nothing is imported); the test fails on

(a) an import cycle between modules (imports at module level, ``TYPE_CHECKING`` ones aside;
    importing ``a.b.c`` also runs the packages ``a.b``);
(b) an import inside a function, outside the app factory and the CLI registration (``LAZY_OK``,
    ``*/cli.py``), and any ``importlib.import_module`` / ``__import__``: both hide a dependency;
(c) an import "upward" in ``LAYERS``, or between two domains of the same layer (peers), type-only
    imports included.

A new domain package must be given a layer here (the test says so); a new top-level module is
infrastructure (``LAYERS[0]``) unless it is listed as part of the factory.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "marketplace"

# Lowest first. A module may import its own domain, infrastructure, and the domains of lower layers.
# Domains of one layer are peers: none imports another. The factory (below) is the top: it wires everything.
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("infrastructure", frozenset()),  # top-level modules: extensions, database, cache, jobs, security, …
    ("scheduling", frozenset({"scheduling"})),  # the pure slot engine and the week picker
    ("notifications", frozenset({"notifications"})),  # mail outbox, .ics
    ("auth", frozenset({"auth"})),  # users, login, confirmation
    ("account", frozenset({"account"})),  # the person's settings; export / deletion hooks every domain registers with
    ("specialists", frozenset({"specialists"})),
    ("consultations", frozenset({"consultations"})),
    ("features", frozenset({"payments", "messaging", "featured", "questions", "articles", "contact"})),
    ("practice", frozenset({"clients"})),  # the specialist's workspace: reads consultations and conversations
    ("pages", frozenset({"admin", "main"})),  # compose pages from several domains
]
# The app factory and the tooling it wires: blueprints, CLI, demo data. Nothing below imports these.
FACTORY_MODULES = frozenset({"marketplace", "marketplace.blueprints", "marketplace.cli", "marketplace.commands",
                             "marketplace.models"})
FACTORY_PACKAGES = frozenset({"demo"})
FACTORY_SUBMODULES = frozenset({"cli", "demo"})  # marketplace/<domain>/cli.py and demo.py

# Modules whose function-local imports are wanted: the factory imports domains lazily, and CLI
# commands import what they run only when run.
LAZY_OK = frozenset({"marketplace", "marketplace.blueprints", "marketplace.cli", "marketplace.commands"})

# Known exceptions: none (payments plugs into consultations' hooks; nothing imports upward).
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()
KNOWN_LOCAL: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or package)
    line: int
    local: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:``

    def where(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_files(root: Path, package: str) -> dict[str, Path]:
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, modules: dict[str, Path]) -> None:
        self.module, self.is_package, self.modules = module, is_package, modules
        self.imports: list[Import] = []
        self.hidden: list[str] = []  # importlib / __import__ calls
        self.depth = 0  # functions entered
        self.type_only = 0

    def _add(self, target: str, node: ast.stmt) -> None:
        self.imports.append(Import(self.module, target, node.lineno, self.depth > 0, self.type_only > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            package = package[:len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in self.modules else base, node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_only += 1
            for child in node.body:
                self.visit(child)
            self.type_only -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in {"import_module", "__import__"}:
            self.hidden.append(f"{self.module}:{node.lineno} calls {name}()")
        self.generic_visit(node)


@dataclass
class Graph:
    modules: dict[str, Path]
    imports: list[Import]
    hidden: list[str]


def parse(root: Path = ROOT, package: str = PACKAGE) -> Graph:
    modules = module_files(root, package)
    imports: list[Import] = []
    hidden: list[str] = []
    for name, path in modules.items():
        collector = _Collector(name, path.name == "__init__.py", modules)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        imports += collector.imports
        hidden += collector.hidden
    return Graph(modules, imports, hidden)


# --- (a) cycles -------------------------------------------------------------------------------

def runtime_edges(graph: Graph, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module-level imports between our modules. Importing ``marketplace.x.y`` also runs the package
    ``marketplace.x`` (unless the importer is inside it: then it is already running); the root package
    is always running first."""
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in graph.imports:
        if imp.local or imp.type_only or not imp.target.startswith(package + "."):
            continue
        if imp.target in graph.modules and imp.target != imp.source:
            edges[imp.source].add(imp.target)
        parts = imp.target.split(".")
        for end in range(2, len(parts)):
            above = ".".join(parts[:end])
            if above in graph.modules and above != imp.source and not imp.source.startswith(above + "."):
                edges[imp.source].add(above)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


# --- (c) layers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    layer: int
    domain: str  # the package, "" for infrastructure, "factory" for the factory layer


def place_of(module: str, graph: Graph) -> Place:
    top = len(LAYERS)
    parts = module.split(".")
    if (module in FACTORY_MODULES or (len(parts) > 1 and parts[1] in FACTORY_PACKAGES)
            or (len(parts) > 2 and parts[2] in FACTORY_SUBMODULES)):
        return Place(top, "factory")
    if len(parts) == 2 and graph.modules[module].name != "__init__.py":
        return Place(0, "")
    for layer, (_name, domains) in enumerate(LAYERS):
        if parts[1] in domains:
            return Place(layer, parts[1])
    raise LookupError(f"marketplace/{parts[1]} is in no layer: add it to LAYERS in {Path(__file__).name} "
                      "and to README's layout")


def layering_violations(graph: Graph, known: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    problems = []
    for imp in graph.imports:
        if not imp.target.startswith(PACKAGE + ".") or imp.target not in graph.modules:
            continue
        source, target = place_of(imp.source, graph), place_of(imp.target, graph)
        if (imp.source, imp.target) in known or source.domain == "factory":
            continue
        if target.layer > source.layer:
            problems.append(f"{imp.where()}: {LAYERS[source.layer][0] if source.layer < len(LAYERS) else 'factory'} "
                            f"may not import the higher layer "
                            f"{LAYERS[target.layer][0] if target.layer < len(LAYERS) else 'factory'}")
        elif target.layer == source.layer and target.domain != source.domain and source.domain:
            problems.append(f"{imp.where()}: {source.domain} and {target.domain} are peers ({LAYERS[source.layer][0]}), "
                            "neither imports the other")
    return problems


def local_imports(graph: Graph, known: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    found = [imp.where() + " inside a function" for imp in graph.imports
             if imp.local and imp.source not in LAZY_OK and not imp.source.endswith(".cli")
             and (imp.source, imp.target) not in known]
    return list(dict.fromkeys(found))  # one line per statement


# --- the tests --------------------------------------------------------------------------------

def test_no_import_cycles() -> None:
    graph = parse()
    found = cycles(runtime_edges(graph))
    assert not found, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)


def test_no_function_local_imports_outside_the_factory_and_cli() -> None:
    graph = parse()
    problems = local_imports(graph, KNOWN_LOCAL) + graph.hidden
    assert not problems, "move these imports to the top of the module (a cycle means a layer is wrong):\n" + \
        "\n".join(problems)


def test_dependencies_run_one_way() -> None:
    problems = layering_violations(parse(), KNOWN_UPWARD)
    assert not problems, "imports against the layering (README, 'Dependencies run one way'):\n" + "\n".join(problems)


def test_every_package_has_a_layer() -> None:
    graph = parse()
    for module in graph.modules:
        place_of(module, graph)  # raises for a package in no layer


def test_known_exceptions_still_exist() -> None:
    """An exception that no longer happens is deleted from the list, so it cannot hide a new one."""
    graph = parse()
    pairs = {(imp.source, imp.target) for imp in graph.imports}
    assert KNOWN_UPWARD <= pairs, f"gone, delete from KNOWN_UPWARD: {sorted(KNOWN_UPWARD - pairs)}"
    lazy = {(imp.source, imp.target) for imp in graph.imports if imp.local}
    assert KNOWN_LOCAL <= lazy, f"gone, delete from KNOWN_LOCAL: {sorted(KNOWN_LOCAL - lazy)}"


def test_the_checks_find_a_cycle_an_upward_import_and_a_local_import(tmp_path: Path) -> None:
    """The checks themselves, on a small made-up package laid out like ours."""
    files = {
        "__init__.py": "from marketplace.blueprints import BLUEPRINTS\n",
        "blueprints.py": "def BLUEPRINTS():\n    from marketplace.payments import views\n",
        "database.py": "",
        "specialists/__init__.py": "",
        "specialists/models.py": "from marketplace.database import x\nfrom marketplace.specialists import vocabulary\n",
        "specialists/vocabulary.py": "from marketplace.specialists.models import Specialty\n",
        "specialists/services.py": ("from typing import TYPE_CHECKING\n"
                                    "if TYPE_CHECKING:\n    from marketplace.consultations.models import C\n"),
        "consultations/__init__.py": "from marketplace.consultations import views\n",
        "consultations/views.py": "from marketplace.consultations import bp\n",
        "consultations/models.py": "from marketplace.specialists.models import SpecialistProfile\n",
        "consultations/booking.py": "def book():\n    from marketplace.payments.services import hold\n",
        "payments/__init__.py": "",
        "payments/services.py": "from marketplace.consultations.models import C\n",
        "payments/views.py": "from marketplace.messaging import services\n",
        "messaging/__init__.py": "",
        "messaging/services.py": "import importlib\nimportlib.import_module('marketplace.payments')\n",
        "demo/__init__.py": "",
        "demo/loader.py": "from marketplace.payments.services import hold\n",
    }
    for name, text in files.items():
        path = tmp_path / "marketplace" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    graph = parse(tmp_path)

    assert cycles(runtime_edges(graph)) == [
        ["marketplace.consultations", "marketplace.consultations.views"],
        ["marketplace.specialists.models", "marketplace.specialists.vocabulary"],
    ]
    assert local_imports(graph) == [
        "marketplace.consultations.booking:2 imports marketplace.payments.services inside a function"]
    assert graph.hidden == ["marketplace.messaging.services:2 calls import_module()"]
    violations = layering_violations(graph)
    assert [v.split(":")[0] for v in violations] == ["marketplace.consultations.booking",
                                                     "marketplace.payments.views",
                                                     "marketplace.specialists.services"]
    assert "peers" in violations[1] and "type" not in violations[1]
    assert layering_violations(graph, frozenset({
        ("marketplace.consultations.booking", "marketplace.payments.services"),
        ("marketplace.payments.views", "marketplace.messaging.services"),
        ("marketplace.specialists.services", "marketplace.consultations.models"),
    })) == []
