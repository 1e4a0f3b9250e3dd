"""The gridmap command: init, demo, info, and clear errors with exit codes (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from gridmap.cli import main
from gridmap.db import make_engine
from gridmap.errors import ConflictError, DatabaseError, SchemaVersionError


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_init_then_info_on_an_empty_database(db_url: str) -> None:
    result = run("init", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output
    info = run("info", "--db", db_url, "--format", "json")
    payload = json.loads(info.output)
    assert payload["layers"]["grid"] == 0 and payload["communities"] == []


def test_demo_info_and_refusal_to_overwrite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = run("demo", "--db", url)
    assert result.exit_code == 0, result.output
    assert "网格 / Grid" in result.output
    payload = json.loads(run("info", "--db", url, "--format", "json").output)
    assert payload["layers"]["community"] >= 5
    assert sum(c["grids"] for c in payload["communities"]) == payload["layers"]["grid"]
    text_out = run("info", "--db", url).output
    assert "网格数" in text_out and "户数" in text_out

    again = run("demo", "--db", url)
    assert again.exit_code == ConflictError.exit_code
    assert "already holds a street" in again.output
    assert run("demo", "--db", url, "--force").exit_code == 0


@pytest.mark.parametrize(
    "url, code, fragment",
    [
        ("sqlite:////nonexistent/dir/x.db", DatabaseError.exit_code, "database file not found"),
        ("oracle://x@y/z", DatabaseError.exit_code, "unsupported database"),
        (
            "postgresql+psycopg://gridmap@127.0.0.1:1/gridmap",
            DatabaseError.exit_code,
            "cannot reach the database server",
        ),
    ],
)
def test_bad_databases_give_a_message_and_exit_code(url: str, code: int, fragment: str) -> None:
    result = run("info", "--db", url)
    assert result.exit_code == code
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_newer_schema_exit_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    assert run("init", "--db", url).exit_code == 0
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    engine.dispose()
    for command in ("info", "init", "demo"):
        result = run(command, "--db", url)
        assert result.exit_code == SchemaVersionError.exit_code, command
        assert "newer than this gridmap" in result.output


def test_corrupt_file_through_the_real_command(tmp_path: Path) -> None:
    """The installed console script: a message on stderr, exit code 3, no traceback."""
    path = tmp_path / "corrupt.db"
    path.write_text("名称,户数\n第1网格,420\n", encoding="gbk")
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "info", "--db", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == DatabaseError.exit_code
    assert "corrupt" in proc.stderr and "Traceback" not in proc.stderr
    assert path.read_bytes() == before


def test_environment_variable_selects_the_database(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    assert run("init").exit_code == 0
    assert (tmp_path / "env.db").exists()


# --- gridmap check ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_report(demo_db_url: str):
    from gridmap.coverage import check_coverage
    from gridmap.db import open_database
    from gridmap.repository import load_street_layers, read_table

    engine = open_database(demo_db_url)
    layers = load_street_layers(engine)
    organisations = read_table(engine, "organisation")
    return check_coverage(
        layers.communities, layers.grids, layers.buildings, layers.stations, 1000, organisations
    )


def test_check_lists_every_problem_and_fails(demo_db_url: str, demo_report) -> None:
    from gridmap.demo import DEMO_DEFECTS

    result = run("check", "--db", demo_db_url, "--radius", "1000")
    assert result.exit_code == 1
    assert f"发现 {len(demo_report.problems)} 个问题" in result.output
    for label in ("网格未覆盖区域", "网格重叠", "楼栋跨网格", "网格户数偏多", "服务半径外住户",
                  "两新组织未覆盖", "党建盲区楼宇", "新建小区未配建党群活动场所"):  # fmt: skip
        assert f"【{label}】" in result.output
    for code in DEMO_DEFECTS["buildings_split"] + DEMO_DEFECTS["grids_over_norm"]:
        assert code in result.output
    for code in DEMO_DEFECTS["blind_spot_buildings"]:
        assert code in result.output
    assert "coverage score" in result.output


def test_check_json_for_one_community(demo_db_url: str, demo_report) -> None:
    code = "420303001-002"
    result = run("check", "--db", demo_db_url, "--radius", "1000", "--community", code,
                 "--format", "json")  # fmt: skip
    assert result.exit_code == 1
    payload = json.loads(result.output)
    expected = demo_report.problems[demo_report.problems["community_code"] == code]
    assert len(payload["problems"]) == len(expected) > 0
    assert {p["community_code"] for p in payload["problems"]} == {code}
    assert payload["summary"][code]["problems"] == len(expected)
    first = payload["problems"][0]
    assert 110.7 < first["lon"] < 110.9 and 32.5 < first["lat"] < 32.7


def test_check_unknown_community_is_an_input_error(demo_db_url: str) -> None:
    result = run("check", "--db", demo_db_url, "--community", "999")
    assert result.exit_code == 2
    assert "unknown community code" in result.output and "420303001-001" in result.output


def test_check_passes_on_a_clean_street(engine) -> None:
    from gridmap.repository import save_tables
    from worlds import clean_world

    save_tables(engine, clean_world())
    url = engine.url.render_as_string(hide_password=False)
    result = run("check", "--db", url, "--radius", "300")
    assert result.exit_code == 0, result.output
    assert "未发现问题" in result.output
