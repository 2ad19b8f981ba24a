"""A static scan of the boto3 clients the code reachable from an entry module creates.

Reachable: the entry module whole, the top level of every module it imports, and each
top-level function or class (whole) that reachable code names, so a module imported for one
helper does not bring in every client its other code creates. The reachability test checks
the result against what each runtime declares; the runtime-image test reuses the parser.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests import REPO_ROOT


@dataclass
class Module:
    """A parsed module: its top-level definitions and what its names import."""

    name: str
    path: Path
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name -> (module, attribute)
    modules: set[str] = field(default_factory=set)  # our modules it imports (their top level runs)


def parse_module(path: Path, name: str) -> Module:
    module = Module(name, path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    module.defs = {
        node.name: node
        for node in module.tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(module.tree):  # function-level imports count too: they run when called
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                module.modules |= {".".join(parts[:depth]) for depth in range(1, len(parts) + 1)}
                if alias.asname:
                    module.imports[alias.asname] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            parts = base.split(".")
            module.modules |= {".".join(parts[:depth]) for depth in range(1, len(parts) + 1)}
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                target = (submodule, None) if source_of(submodule) else (base, alias.name)
                module.imports[alias.asname or alias.name] = target
                module.modules.add(target[0])
    module.modules = {name for name in module.modules if is_ours(name)}
    return module


#: The repository's own packages: the runtimes' code (the rest is third-party or the standard library).
PACKAGES = ("fraudstack",)


def is_ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def source_of(name: str) -> Path | None:
    """The source file of our module ``name`` (a package's ``__init__.py``), if there is one."""
    if not is_ours(name):
        return None
    base = REPO_ROOT.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else None


@dataclass
class ClientCalls:
    """Services of the clients created by reachable code, and calls whose service is not a literal."""

    services: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)


def client_calls(entry: Path) -> ClientCalls:
    """The ``client("service", ...)`` / ``x.client("service")`` calls reachable from ``entry``.

    Reachable: the entry module whole, the top level of every module it imports, and each
    top-level function or class (whole) that reachable code names. A call whose service is
    a parameter of its function forwards its caller's literal and is not counted itself;
    any other non-literal service is reported as unknown.
    """
    modules: dict[str, Module] = {"__main__": parse_module(entry, "__main__")}

    def module(name: str) -> Module | None:
        if name not in modules:
            path = source_of(name)
            if path is None:
                return None
            modules[name] = parse_module(path, name)
        return modules[name]

    found = ClientCalls()
    seen: set[tuple[str, str | None]] = set()
    pending: list[tuple[str, str | None]] = [
        ("__main__", None),
        *(("__main__", d) for d in modules["__main__"].defs),
    ]
    while pending:
        unit = pending.pop()
        if unit in seen:
            continue
        seen.add(unit)
        name, symbol = unit
        current = module(name)
        if current is None:
            continue
        if symbol is None:
            nodes: list[ast.AST] = [n for n in current.tree.body if n not in current.defs.values()]
            pending += [(imported, None) for imported in current.modules]
        elif symbol in current.defs:
            nodes = [current.defs[symbol]]
        elif symbol in current.imports:  # a re-export: follow it to where it is defined
            pending.append(current.imports[symbol])
            continue
        else:
            continue
        for node in nodes:
            pending += _referenced(current, node)
            _collect_calls(node, f"{name}:{symbol or '<module>'}", found)
    return found


def _referenced(module: Module, node: ast.AST) -> Iterator[tuple[str, str | None]]:
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            if child.id in module.defs:
                yield module.name, child.id
            elif child.id in module.imports and is_ours(module.imports[child.id][0]):
                imported, attribute = module.imports[child.id]
                yield imported, attribute
        elif isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
            imported, attribute = module.imports.get(child.value.id, ("", ""))
            if attribute is None and is_ours(imported):  # module.attribute
                yield imported, child.attr


def _collect_calls(node: ast.AST, where: str, found: ClientCalls) -> None:
    functions = [n for n in ast.walk(node) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    parameters = {id(call): fn for fn in functions for call in ast.walk(fn) if isinstance(call, ast.Call)}
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        func = call.func
        called = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        )
        if called not in {"client", "resource"} or not call.args:
            continue
        service = call.args[0]
        if isinstance(service, ast.Constant) and isinstance(service.value, str):
            found.services.add(service.value)
            continue
        enclosing = parameters.get(id(call))
        names = {a.arg for a in enclosing.args.args + enclosing.args.kwonlyargs} if enclosing else set()
        if not (isinstance(service, ast.Name) and service.id in names):
            found.unknown.append(f"{where} line {call.lineno}: {ast.unparse(call)}")
