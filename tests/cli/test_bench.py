"""``sessionware bench``: runs ``python -m benchmarks --quick`` in a checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Run, single_error_line

# A stand-in suite: records how it was run, exits with the status it is asked for.
SUITE = """
import json, os, sys
with open("ran.json", "w") as f:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd()}, f)
sys.exit(int(os.environ.get("SUITE_EXIT", "0")))
"""


def make_checkout(root: Path) -> Path:
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "__main__.py").write_text(SUITE)
    return root


def test_bench_runs_the_quick_mode_in_the_checkout(run: Run, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path)

    result = run("bench", "--checkout", str(checkout))

    assert result.exit_code == 0, result.output
    ran = json.loads((checkout / "ran.json").read_text())
    assert ran["argv"] == ["--quick"]
    assert Path(ran["cwd"]) == checkout


def test_bench_passes_extra_arguments_on(run: Run, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path)

    run("bench", "--checkout", str(checkout), "--", "--only", "memory")

    assert json.loads((checkout / "ran.json").read_text())["argv"] == [
        "--quick",
        "--only",
        "memory",
    ]


def test_bench_full_mode_drops_the_quick_flag(run: Run, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path)

    run("bench", "--checkout", str(checkout), "--mode", "full")

    assert json.loads((checkout / "ran.json").read_text())["argv"] == []


def test_bench_smoke_mode_runs_the_smoke_flag(run: Run, tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path)

    run("bench", "--checkout", str(checkout), "--mode", "smoke")

    assert json.loads((checkout / "ran.json").read_text())["argv"] == ["--smoke"]


def test_bench_rejects_an_unknown_mode(run: Run, tmp_path: Path) -> None:
    result = run("bench", "--checkout", str(make_checkout(tmp_path)), "--mode", "fast")

    assert result.exit_code == 2


def test_bench_exits_with_the_suites_status(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = make_checkout(tmp_path)
    monkeypatch.setenv("SUITE_EXIT", "3")

    result = run("bench", "--checkout", str(checkout))

    assert result.exit_code == 3


def test_bench_without_a_suite_says_where_it_looked(run: Run, tmp_path: Path) -> None:
    result = run("bench", "--checkout", str(tmp_path))

    assert result.exit_code == 1
    line = single_error_line(result)
    assert "benchmark suite" in line
    assert str(tmp_path) in line


def test_bench_runs_the_real_suite_of_this_checkout(run: Run, tmp_path: Path) -> None:
    output = tmp_path / "results.json"

    result = run("bench", "--mode", "smoke", "--", "--stores", "memory", "--output", str(output))

    assert result.exit_code == 0, result.output
    assert output.stat().st_size > 0
