"""trading/engine is pure Decimal maths: it imports nothing but the standard library's maths
helpers and itself (no Django, no I/O, no clock, no randomness)."""

import ast
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
ENGINE_DIR = REPO_ROOT / "trading" / "engine"
ALLOWED_TOP_LEVEL_MODULES = {
    "decimal",
    "dataclasses",
    "enum",
    "typing",
    "collections",
    "functools",
    "itertools",
    "trading",
    "__future__",
}


def imported_top_level_modules(path):
    """(line, module) for every absolute import in the file; relative imports stay in trading."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.lineno, node.module


def test_engine_modules_import_only_the_allowed_modules():
    engine_files = sorted(ENGINE_DIR.rglob("*.py"))
    offending = [
        f"{path.relative_to(REPO_ROOT)}:{line}: import {module}"
        for path in engine_files
        for line, module in imported_top_level_modules(path)
        if module.split(".")[0] not in ALLOWED_TOP_LEVEL_MODULES
    ]

    assert len(engine_files) >= 9, f"engine sources not found under {ENGINE_DIR}"
    assert not offending, "the engine imports outside its allow-list:\n" + "\n".join(offending)


def test_importing_the_engine_loads_no_django_drf_or_celery():
    program = (
        "import sys, trading.engine; "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('django','rest_framework','celery')]; "
        "assert not bad, bad"
    )

    completed = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr


def test_the_import_check_sees_plain_dotted_from_and_nested_imports(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        "import os.path\n"
        "from django.db import models\n"
        "from . import sibling\n"
        "from decimal import Decimal\n"
        "def later():\n"
        "    import time\n",
        encoding="utf-8",
    )

    assert list(imported_top_level_modules(source)) == [
        (1, "os.path"),
        (2, "django.db"),
        (4, "decimal"),
        (6, "time"),
    ]
