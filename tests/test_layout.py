"""The package's shape: no import circle between its modules (module-level or inside functions)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "modeling_asa"


def _graph() -> dict[str, set[str]]:
    modules = {}
    for file in PACKAGE.rglob("*.py"):
        name = ".".join(file.relative_to(PACKAGE.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = file
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, file in modules.items():
        package = module if file.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                for candidate in [target, *(f"{target}.{alias.name}" for alias in node.names)]:
                    if candidate in modules and candidate != module:
                        graph[module].add(candidate)
    return graph


def test_no_import_circle():
    """Every relative import, module-level or lazy, points down the layers (the package's own __init__, which loads
    the public names on demand, aside)."""
    graph = _graph()
    graph.pop("modeling_asa")
    for edges in graph.values():
        edges.discard("modeling_asa")
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, " | ".join(" -> ".join(c) for c in circles)
