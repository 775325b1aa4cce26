"""The shape of the house: the largest files and classes in ``simulator/`` (lines) and the
import circles between its modules (top-level imports and imports inside functions alike;
imports under ``if TYPE_CHECKING`` left out, they do not run).

    python bench/house.py [--top N] [--root DIR]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path, root: Path, modules: set[str]) -> set[str]:
    """Modules of ``modules`` that ``path`` imports at run time."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_lines(tree)
    me = _module(path, root).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            if name in modules:
                found.add(name)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args()
    root = args.root
    files = sorted((root / "simulator").rglob("*.py"))
    modules = {_module(f, root) for f in files}
    sizes = sorted(((len(f.read_text().splitlines()), str(f.relative_to(root))) for f in files), reverse=True)
    classes = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ClassDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                methods = sum(isinstance(c, ast.FunctionDef) for c in node.body)
                classes.append((n, methods, f"{f.relative_to(root)}:{node.name}"))
    classes.sort(reverse=True)
    print(f"largest files in simulator/ (lines), {len(files)} files")
    for n, name in sizes[: args.top]:
        print(f"  {n:5d}  {name}")
    print("largest classes (lines, methods)")
    for n, methods, name in classes[: args.top]:
        print(f"  {n:5d}  {methods:3d}  {name}")
    graph = {_module(f, root): imports(f, root, modules) - {_module(f, root)} for f in files}
    # a package's __init__ importing its own submodules is not a circle by itself
    found = circles(graph)
    print(f"import circles: {len(found)}")
    for component in found:
        print(f"  {len(component)} modules: {', '.join(component)}")


if __name__ == "__main__":
    main()
