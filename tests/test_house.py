"""The shape of the code: imports run one way, modules stay small, and no module keeps mutable state."""

from __future__ import annotations
import __future__

import ast
import importlib
import inspect
import logging
import re
import subprocess
import sys
import types
import typing
from dataclasses import fields, is_dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"sdae": ROOT / "sdae", "sdae_cli": ROOT / "cli"}
MAX_LINES = 300


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:  # a submodule, or a name the package itself defines or re-exports
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {t for t in targets if t in known and t != name}


def test_no_import_circles():
    """Every import of the project's own modules (module-level or inside a function) runs one way."""
    found = modules()
    graph = {name: imported(name, path, set(found)) for name, path in found.items()}
    # a package's __init__ that only re-exports lazily (PEP 562) is not an edge back into its modules
    state = {name: 0 for name in graph}  # 0 new, 1 on the path, 2 done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state[target] == 1:
                pytest.fail("import circle: " + " -> ".join(path[path.index(target):] + [target]))
            if state[target] == 0:
                visit(target)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if state[name] == 0:
            visit(name)


def test_the_check_finds_a_circle(tmp_path, monkeypatch):
    """The circle check is not vacuous: two modules importing each other inside functions are caught."""
    (tmp_path / "a.py").write_text("def f():\n    from sdae import b\n")
    (tmp_path / "b.py").write_text("from sdae.a import f\n")
    known = {"sdae.a", "sdae.b"}
    assert imported("sdae.a", tmp_path / "a.py", known) == {"sdae.b"}
    assert imported("sdae.b", tmp_path / "b.py", known) == {"sdae.a"}


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_small(name):
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by concept (at most {MAX_LINES})"


IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset, range, types.MappingProxyType,
             re.Pattern, Path, Enum, logging.Logger, typing.TypeVar, __future__._Feature)


def immutable(value) -> bool:
    if inspect.isclass(value) or inspect.isfunction(value):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(immutable(v) for v in value)
    if isinstance(value, types.MappingProxyType):
        return all(immutable(v) for v in value.values())
    if is_dataclass(value) and not isinstance(value, type):
        return value.__dataclass_params__.frozen and all(immutable(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, np.ndarray):
        return not value.flags.writeable
    return isinstance(value, IMMUTABLE)


def test_no_module_level_mutable_state():
    """No `global` statement, and every module-level value that is not a module, class, function or type alias is
    of an immutable kind: what a module holds cannot change between two calls."""
    problems = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        problems += [f"{name}:{node.lineno}: global {', '.join(node.names)}" for node in ast.walk(tree)
                     if isinstance(node, ast.Global)]
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if attribute.startswith("__") or inspect.ismodule(value) or inspect.isclass(value) or callable(value) \
                    or typing.get_origin(value) is not None or getattr(value, "__module__", "") == "typing":
                continue
            if not immutable(value):
                problems.append(f"{name}.{attribute}: a {type(value).__name__}")
    assert not problems, "module-level mutable state:\n" + "\n".join(problems)


def test_help_and_version_do_not_import_torch():
    """`sdae --help` and `--version` answer without loading torch (their time is measured in benchmarks/)."""
    code = ("import sys\nfrom sdae_cli.main import main\n"
            "for argv in (['--help'], ['--version'], ['pretrain', '--help'], ['bench', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit as e:\n        assert e.code == 0, (argv, e.code)\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_every_setting_has_one_name_from_the_command_line_to_the_file():
    """Each option of `sdae pretrain`/`finetune` that is a setting has the setting's own name, so the command line,
    config files and the Python API agree (and where an option lands is derived, not listed)."""
    from sdae_cli.train_commands import finetune, pretrain

    from sdae.options import (
        DataOptions,
        FinetuneOptions,
        RunConfig,
        TrainOptions,
        sections_of,
    )

    places = sections_of(RunConfig)
    pretrain_names = {p.name for p in pretrain.params}
    settings = {f.name for f in fields(DataOptions)} | {f.name for f in fields(TrainOptions)} | \
        {f.name for f in fields(RunConfig) if f.metadata.get("section") is None} - {"supervised", "patience", "dropout", "input_dropout"}
    assert settings <= pretrain_names, f"settings without a pretrain option: {sorted(settings - pretrain_names)}"
    assert {name for name in pretrain_names if name in places} == settings
    finetune_names = {p.name for p in finetune.params}
    wanted = ({f.name for f in fields(FinetuneOptions)} - {"train"}) | {f.name for f in fields(TrainOptions)}
    assert wanted <= finetune_names, f"fine-tuning settings without an option: {sorted(wanted - finetune_names)}"
