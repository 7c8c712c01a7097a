"""The benchmark suite still runs: smoke mode on the memory store, JSON shape checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("benchmarks.cli", reason="benchmarks/ is run from a source checkout")

from benchmarks.cli import main
from benchmarks.report import Report, Row

ROW_KEYS = {"scenario", "store", "measurement", "value", "unit", "target", "ok", "result", "detail"}


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench") / "smoke.json"
    scenarios = "roundtrip,request,scale,visits,memory"
    assert (
        main(["--smoke", "--stores", "memory", "--scenarios", scenarios, "--output", str(output)])
        == 0
    )
    report: dict[str, Any] = json.loads(Path(output).read_text())
    return report


def test_smoke_run_writes_mode_machine_and_rows(smoke_report: dict[str, Any]) -> None:
    assert smoke_report["mode"] == "smoke"
    assert {"nproc", "cpu", "python"} <= set(smoke_report["machine"])
    assert smoke_report["rows"]


def test_every_row_has_the_documented_fields(smoke_report: dict[str, Any]) -> None:
    for row in smoke_report["rows"]:
        assert set(row) == ROW_KEYS
        assert row["result"] in ("", "PASS", "MISS")


def test_every_selected_scenario_reports_on_memory(smoke_report: dict[str, Any]) -> None:
    scenarios = {row["scenario"].split()[0] for row in smoke_report["rows"]}
    assert scenarios == {"1", "2", "4", "5", "7"}


def test_targets_are_judged_not_hidden(smoke_report: dict[str, Any]) -> None:
    judged = [row for row in smoke_report["rows"] if row["ok"] is not None]
    assert judged
    assert all(row["result"] == ("PASS" if row["ok"] else "MISS") for row in judged)


def test_unknown_store_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--smoke", "--stores", "nosuchstore"])
    assert "unknown store" in capsys.readouterr().err


def test_a_file_backed_store_runs_fills_and_cleans_up(tmp_path: Path) -> None:
    output = tmp_path / "sqlite.json"
    arguments = ["--smoke", "--stores", "sqlite", "--scenarios", "roundtrip,request,scale"]
    assert main([*arguments, "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert {row["store"] for row in report["rows"]} == {"sqlite"}
    assert any(row["measurement"].startswith("ASGI") for row in report["rows"])


@pytest.mark.parametrize(
    ("value", "shown"), [(float("inf"), "inf"), (float("nan"), "nan"), (1234.0, "1,234")]
)
def test_the_table_shows_any_value_a_row_can_hold(value: float, shown: str) -> None:
    # A speed-up over a cost that noise made zero is infinite; the table still prints.
    report = Report("smoke")
    report.add(Row("3 peers", "memory", "speed-up", value, "x"))
    assert f"| {shown} x |" in report.markdown()
