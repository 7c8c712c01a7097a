"""scripts/unasync.py: the generated sync modules match their async sources, and the
generator fails loudly on what would make a twin dishonest (run on a tmp tree)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "unasync.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


unasync = load_script()

SOURCE = '''\
"""``AsyncThing`` reads a record. The async source: prose is left as written."""

import asyncio

__all__ = ["AsyncThing"]


class AsyncThing:
    async def read(self) -> int:
        # async comment: await stays here
        await asyncio.sleep(0)
        return "await async AsyncThing"  # a string is prose too

    async def __aenter__(self) -> AsyncThing:
        return self
'''


def tree(tmp_path: Path, source: str = SOURCE) -> Path:
    package = tmp_path / "pkg"
    (package / "_async").mkdir(parents=True)
    (package / "_async" / "__init__.py").write_text("")
    (package / "_async" / "thing.py").write_text(source)
    return package


#: The rules SOURCE exercises: a rule matching nothing would fail the run.
USED = {"async def", "await", "import asyncio", "asyncio . sleep", "__aenter__", r"Async([A-Z]\w*)"}
RULES = [
    rule
    for rule in unasync.RULES
    if getattr(rule, "pattern", None) in USED
    or isinstance(rule, (unasync.AllNames, unasync.InlineLiterals))
]


def run(package: Path, check: bool = False, rules: list[object] = RULES) -> list[str]:
    problems: list[str] = unasync.run([package], base=package.parent, rules=rules, check=check)
    return problems


def test_generated_sync_code_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_twin_is_generated_on_tokens_and_then_checks_clean(tmp_path: Path) -> None:
    package = tree(tmp_path)
    assert run(package) == []
    twin = (package / "_sync" / "thing.py").read_text()
    assert twin.startswith("# Generated from pkg/_async/thing.py by scripts/unasync.py.")
    assert "class Thing:" in twin
    assert "    def read(self) -> int:" in twin
    assert "        time.sleep(0)\n" in twin
    assert "import time\n" in twin
    assert "def __enter__(self) -> Thing:" in twin
    assert '__all__ = ["Thing"]' in twin
    # Comments and strings are prose; only a docstring's inline literal is code.
    assert "# async comment: await stays here" in twin
    assert '"await async AsyncThing"' in twin
    assert '"""``Thing`` reads a record. The async source: prose is left as written."""' in twin
    assert (package / "_sync" / "__init__.py").exists()
    assert run(package, check=True) == []


def test_token_rules_rewrite_code_only() -> None:
    rewriter = unasync.Rewriter(unasync.RULES)
    text = (
        "x = await conn.run_sync(self._sql.exists, element)\n"
        "y = self.conn.run_sync(f, 1)  # a dotted receiver is left alone\n"
        "keys = [key async for key in AsyncStore().ids()]\n"
        "from redis.asyncio.cluster import RedisCluster  # redis.asyncio stays in prose\n"
    )
    assert rewriter.rewrite(text, unasync.python_tokens(text)) == (
        "x = self._sql.exists(conn, element)\n"
        "y = self.conn.run_sync(f, 1)  # a dotted receiver is left alone\n"
        "keys = [key for key in Store().ids()]\n"
        "from redis.cluster import RedisCluster  # redis.asyncio stays in prose\n"
    )


def test_a_line_marked_remove_is_dropped(tmp_path: Path) -> None:
    package = tree(tmp_path, SOURCE + "\n\nMARK = 1  # unasync: remove\n")
    assert run(package) == []
    twin = (package / "_sync" / "thing.py").read_text()
    assert "MARK" not in twin
    assert twin.endswith("return self\n")


def test_a_rule_that_matches_nothing_fails(tmp_path: Path) -> None:
    package = tree(tmp_path)
    unused = unasync.Rename("greenlet_spawn", "call")
    problems = run(package, rules=[*RULES, unused])
    assert problems == [f"rule matched nothing in any source (remove it): {unused.describe}"]


def test_a_surviving_await_fails_and_nothing_is_written(tmp_path: Path) -> None:
    package = tree(tmp_path)
    rules = [rule for rule in RULES if getattr(rule, "pattern", None) != "await"]
    problems = run(package, rules=rules)
    assert problems == ["pkg/_sync/thing.py: line 12: 'await' survives (no rule rewrites it)"]
    assert not (package / "_sync" / "thing.py").exists()


def test_a_surviving_asyncio_name_fails(tmp_path: Path) -> None:
    package = tree(tmp_path, SOURCE + "\n\nasync def both() -> None:\n    await asyncio.gather()\n")
    problems = run(package)
    assert problems == ["pkg/_sync/thing.py: line 20: 'asyncio' survives (no rule rewrites it)"]


def test_a_hand_edited_twin_fails_the_check(tmp_path: Path) -> None:
    package = tree(tmp_path)
    assert run(package) == []
    twin = package / "_sync" / "thing.py"
    twin.write_text(twin.read_text().replace("return self", "return None"))
    (problem,) = run(package, check=True)
    assert problem.startswith("pkg/_sync/thing.py: stale or hand-edited: differs from what")
    assert "-        return None" in problem
    assert "+        return self" in problem


def test_a_stale_twin_fails_the_check_and_a_run_rewrites_it(tmp_path: Path) -> None:
    package = tree(tmp_path)
    assert run(package) == []
    source = package / "_async" / "thing.py"
    source.write_text(source.read_text().replace("return self", "return self  # same"))
    (problem,) = run(package, check=True)
    assert "stale or hand-edited" in problem
    assert run(package) == []
    assert run(package, check=True) == []


def test_a_missing_twin_fails_the_check(tmp_path: Path) -> None:
    package = tree(tmp_path)
    assert run(package) == []
    (package / "_sync" / "thing.py").unlink()
    assert run(package, check=True) == [
        "pkg/_sync/thing.py: missing (run python scripts/unasync.py)"
    ]


@pytest.mark.parametrize("name", ["helper.py", "__init__.py"])
def test_a_file_in_sync_that_no_source_generates_fails(tmp_path: Path, name: str) -> None:
    package = tree(tmp_path)
    assert run(package) == []
    if name == "__init__.py":
        (package / "_async" / "__init__.py").unlink()
    (package / "_sync" / name).write_text("VALUE = 1\n")
    message = (
        f"pkg/_sync/{name}: in a _sync/ folder but generated by no _async/ source "
        "(move hand-written code out of _sync/, or delete the file)"
    )
    assert message in run(package, check=True)
    assert message in run(package)  # writing does not excuse it either


def test_the_command_line_fails_with_a_clear_message(tmp_path: Path) -> None:
    package = tree(tmp_path)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--root", str(package)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "scripts/unasync.py failed:" in result.stderr
    assert "pkg/_sync/thing.py: missing" in result.stderr
    assert "rule matched nothing in any source (remove it)" in result.stderr


def test_importing_sessionware_imports_no_asyncio_driver_or_framework() -> None:
    code = (
        "import sys, sessionware, sessionware.wsgi;"
        "bad = [m for m in ('asyncio', 'redis', 'sqlalchemy', 'flask', 'django', 'starlette')"
        " if m in sys.modules]; print(bad)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
