"""House rules on imports that import-linter (``lint-imports``, contracts in pyproject.toml) cannot check: nobody
imports another domain's private (``_name``) parts, and no module imports Kluis inside a function except for
start-up speed, said in a comment beside it."""

import ast
from collections.abc import Iterator
from pathlib import Path

import kluis

SOURCE = Path(kluis.__file__).resolve().parent

# The staff console's page frame is shared by the other domains' consoles; these are its only private names that
# another domain may import. An entry no longer used fails the test, so the list only shrinks.
def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def _domain(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imports_kluis(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] == "kluis"
    return isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "kluis" for alias in node.names)


def test_no_module_imports_another_domains_private_names():
    found = []
    for module, path, tree in _modules():
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kluis."):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    aliases[alias.asname or alias.name] = target
                    if _private(alias.name) and _domain(node.module) != _domain(module):
                        found.append(f"{path.relative_to(SOURCE)}:{node.lineno} imports {target}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("kluis.") and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                    and node.value.id in aliases and _domain(aliases[node.value.id]) != _domain(module)):
                found.append(f"{path.relative_to(SOURCE)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert found == []


def test_imports_inside_functions_are_only_for_start_up_speed():
    found = []
    for _, path, tree in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if _imports_kluis(node) and "start-up speed" not in " ".join(lines[function.lineno:node.lineno]):
                    found.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert found == []
