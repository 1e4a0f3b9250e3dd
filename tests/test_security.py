"""Issue 11, the rest of the security test list: an audit log the database itself keeps
append-only (also across ``demo --force`` and ``restore``), a write and its audit row in one
transaction, uploads that cannot escape their folder or exceed the limit, SQL text that never
carries user input, and the CLI acting as the user it is told to act as."""

from __future__ import annotations

import io
import re
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from gridmap import auth, settings
from gridmap import io as gio
from gridmap import organisation as org
from gridmap import redraw as r
from gridmap.bootstrap import load_demo
from gridmap.cli import main as cli
from gridmap.db import init_database, make_engine
from gridmap.errors import InputError, PermissionDenied
from gridmap.models import ACCOUNT_TABLES
from gridmap.repository import layer_counts, read_table
from worlds import ADMIN_PASSWORD, small_world

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).parent / "data" / "samples"
PASSWORD = ADMIN_PASSWORD


def _log(engine: Engine) -> pd.DataFrame:
    return read_table(engine, "audit_log").sort_values("id").reset_index(drop=True)


# --- the audit log is append-only in the database itself --------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'nothing' WHERE id = (SELECT MIN(id) FROM audit_log)",
        "UPDATE audit_log SET user_id = NULL",
        "DELETE FROM audit_log WHERE id = (SELECT MIN(id) FROM audit_log)",
        "DELETE FROM audit_log",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(world: Engine, statement) -> None:
    before = _log(world)
    assert len(before) >= 1
    with pytest.raises(DBAPIError, match="append-only"), world.begin() as conn:
        conn.execute(text(statement))
    pd.testing.assert_frame_equal(_log(world), before, check_dtype=False)


def test_truncate_is_refused_too(world: Engine) -> None:
    """PostgreSQL: TRUNCATE skips row triggers, so a statement trigger stops it. SQLite has no
    TRUNCATE; its "truncate optimisation" of an unqualified DELETE is off when triggers exist."""
    before = _log(world)
    pg = world.dialect.name == "postgresql"
    statement = "TRUNCATE audit_log" if pg else "DELETE FROM audit_log"
    with pytest.raises(DBAPIError, match="append-only"), world.begin() as conn:
        conn.execute(text(statement))
    pd.testing.assert_frame_equal(_log(world), before, check_dtype=False)


def test_demo_force_keeps_accounts_and_the_whole_log(engine: Engine) -> None:
    load_demo(engine, seed=3)
    code = auth.DEMO_COMMUNITY_CODE
    uid = auth.create_user(
        engine, "li_shuji", PASSWORD, "secretary", community_code=code, principal=auth.SYSTEM
    )
    before = _log(engine)
    load_demo(engine, seed=3, force=True)
    after = _log(engine)
    kept = after.iloc[: len(before)]  # nothing rewritten
    pd.testing.assert_frame_equal(kept, before, check_dtype=False)
    assert after["action"].iloc[len(before) :].tolist() == ["demo_replace"]
    li = auth.principal_for(engine, uid)  # same account, same id, scope found again by code
    community = read_table(engine, "community").set_index("id").loc[li.community_id, "code"]
    assert li.role == "secretary" and community == auth.DEMO_COMMUNITY_CODE
    assert auth.authenticate(engine, "li_shuji", PASSWORD).user_id == uid


def test_restore_keeps_the_live_log_and_accounts(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "street.gpkg"
    gio.backup(world, path)
    auth.create_user(world, "wang", PASSWORD, "viewer", principal=auth.SYSTEM)  # after backup
    before = _log(world)
    gio.restore(world, path, force=True)
    after = _log(world)
    pd.testing.assert_frame_equal(after.iloc[: len(before)], before, check_dtype=False)
    assert after["action"].iloc[len(before) :].tolist() == ["restore"]
    assert set(read_table(world, "user")["name"]) == {"admin", "wang"}
    assert auth.authenticate(world, "wang", PASSWORD).role == "viewer"


def test_restore_gives_a_clashing_user_a_new_id_and_its_history_follows(
    world: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "street.gpkg"
    gio.backup(world, path)  # holds "admin" (id 1) and its user_create row
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}", create=True)
    init_database(other)
    auth.create_user(other, "zhao", PASSWORD, "street_admin", principal=auth.SYSTEM)  # id 1
    gio.restore(other, path)
    users = read_table(other, "user").set_index("name")["id"]
    assert users["zhao"] == 1 and users["admin"] != 1
    log = _log(other)
    created = log[(log["action"] == "user_create")]
    assert set(created["entity_id"]) == {1, int(users["admin"])}
    backup_row = created[created["after"].str.contains('"admin"')]
    assert len(backup_row) == 1  # the backup's history came along, once


# --- one transaction: a write is never committed without its audit row ------------------------


def test_an_organisation_write_without_its_audit_row_is_rolled_back(world: Engine) -> None:
    """A principal whose user row does not exist cannot be audited (foreign key): the rename
    it asked for must not be committed either."""
    orgs = read_table(world, "party_org")
    oid, name = int(orgs["id"].iloc[0]), str(orgs["name"].iloc[0])
    ghost = auth.Principal(user_id=987654, name="ghost", role="street_admin")
    n_log = len(_log(world))
    with pytest.raises(DBAPIError), auth.acting_as(ghost):
        org.rename_org(world, oid, "改过的名字")
    assert read_table(world, "party_org").set_index("id").loc[oid, "name"] == name
    assert len(_log(world)) == n_log
    org.rename_org(world, oid, "改过的名字")  # the local operator: written and audited
    assert _log(world)["action"].iloc[-1] == "org_rename"


# --- uploads: names, archives, sizes ----------------------------------------------------------

HOSTILE_NAMES = [
    "../../../gridmap_probe.csv",
    "..\\..\\gridmap_probe.csv",
    "/etc/gridmap_probe.csv",
    "C:\\Windows\\gridmap_probe.csv",
    "gridmap\x00probe.csv",
    "<img src=x onerror=alert(1)>.csv",
]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own system temp folder, so "nothing left behind" sees only this test."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_upload_names_cannot_leave_the_upload_folder(
    name: str, tmp_path: Path, monkeypatch, private_tmp: Path
):
    monkeypatch.chdir(tmp_path)
    data = "名称,级别,经度,纬度\n新站,compound,110.7801,32.6301\n".encode()
    source = gio.read_upload(name, data)
    assert len(source.frame) == 1
    assert not re.search(r"[/\\<>\x00]", source.name) and source.name.endswith(".csv")
    assert not list(tmp_path.rglob("*probe*")) and not Path("/etc/gridmap_probe.csv").exists()
    assert not list(private_tmp.iterdir())  # the upload folder is removed


def _slipping_zip() -> bytes:
    """The sample shapefile with every member renamed to climb out of the folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(SAMPLES / "gbk_buildings_shp.zip") as src, \
            zipfile.ZipFile(buffer, "w") as out:  # fmt: skip
        for member in src.infolist():
            suffix = Path(member.filename).suffix
            out.writestr(f"../../../../tmp/gridmap_zipslip{suffix}", src.read(member))
    return buffer.getvalue()


def test_zip_slip_members_are_read_flat_and_written_nowhere_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = gio.read_upload("buildings.zip", _slipping_zip())
    assert len(source.frame) > 0 and source.kind == "shapefile"
    assert not list(Path("/tmp").glob("gridmap_zipslip*"))
    assert not list(tmp_path.rglob("gridmap_zipslip*"))


def test_oversized_uploads_are_refused_before_touching_the_disk(
    monkeypatch, private_tmp: Path
) -> None:
    monkeypatch.setattr(settings, "IMPORT_MAX_BYTES", 1024)
    with pytest.raises(gio.ImportRejected, match="过大"):
        gio.read_upload("big.csv", b"a,b\n" + b"1,2\n" * 400)
    assert not list(private_tmp.iterdir())


def test_zip_bombs_are_refused_by_their_unpacked_size(monkeypatch) -> None:
    monkeypatch.setattr(settings, "IMPORT_MAX_BYTES", 64 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("bomb.shp", b"\0" * (4 * 2**20))  # 4 MB of zeros, a few KB zipped
    assert len(buffer.getvalue()) < 64 * 1024
    with pytest.raises(gio.ImportRejected, match="解压后过大"):
        gio.read_upload("bomb.zip", buffer.getvalue())


def test_the_server_upload_limit_matches_the_core_limit() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * 2**20 == settings.IMPORT_MAX_BYTES


# --- SQL injection ----------------------------------------------------------------------------

INJECTIONS = ["'; DROP TABLE grid; --", "x' OR '1'='1", "1; DELETE FROM person", '" OR ""="']


def _fingerprint(engine: Engine) -> dict[str, int]:
    return {k: v for k, v in layer_counts(engine).items() if k not in ACCOUNT_TABLES}


@pytest.mark.parametrize("value", INJECTIONS)
def test_text_lookups_bind_their_input(world: Engine, value: str) -> None:
    before = _fingerprint(world)
    with pytest.raises(InputError, match="未知的社区编码"):
        r.list_plans(world, value)
    with pytest.raises(PermissionDenied):
        auth.authenticate(world, value, value)
    assert auth.audit_log(world, user=value, action=value, entity=value).empty
    with pytest.raises(gio.ImportRejected):
        gio.read_upload(value, b"")
    assert _fingerprint(world) == before


@pytest.mark.parametrize("value", INJECTIONS)
def test_text_is_stored_verbatim_never_executed(world: Engine, value: str) -> None:
    pid = org.add_person(world, value, "13800001111")
    oid = int(read_table(world, "party_org")["id"].iloc[0])
    org.rename_org(world, oid, value)
    assert read_table(world, "person").set_index("id").loc[pid, "name"] == value
    assert read_table(world, "party_org").set_index("id").loc[oid, "name"] == value
    assert layer_counts(world)["grid"] == len(small_world()["grid"])


def test_no_sql_text_is_built_from_values() -> None:
    """Every ``text(...)`` in the core is a constant or quotes identifiers only: f-strings in
    SQL text are allowed where they interpolate names quoted by the dialect, nothing else."""
    allowed = {"quoted"}  # repository.advance_sequence: dialect-quoted table name
    for path in (ROOT / "gridmap").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"text\(\s*f[\"']([^\"']*)", source):
            names = set(re.findall(r"\{(\w+)", match.group(1)))
            assert names <= allowed, f"{path.name}: SQL text built from {names}"


# --- the CLI acts as the user it is told to ----------------------------------------------------


def _invoke(demo: Engine, user: str, *args: str) -> object:
    url = demo.url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--user", user, *args, "--db", url],
                              env={"GRIDMAP_PASSWORD": auth.DEMO_USERS[user][1],
                                   "GRIDMAP_NEW_PASSWORD": "a new long password"})  # fmt: skip


def _other_community(demo: Engine) -> str:
    codes = read_table(demo, "community")["code"]
    return str(codes[codes != auth.DEMO_COMMUNITY_CODE].iloc[0])


def test_cli_secretary_cannot_draft_in_another_community(demo: Engine) -> None:
    before = _log(demo)
    result = _invoke(demo, "demo_secretary", "plan", "new", "--community", _other_community(demo))
    assert result.exit_code == 6, result.output
    assert len(_log(demo)) == len(before) + 1  # only the login is recorded


def test_cli_writes_name_the_logged_in_user(demo: Engine) -> None:
    result = _invoke(demo, "demo_secretary", "plan", "new", "--community",
                     auth.DEMO_COMMUNITY_CODE)  # fmt: skip
    assert result.exit_code == 0, result.output
    log = auth.audit_log(demo, principal=auth.SYSTEM)
    assert log["user"].iloc[0] == "demo_secretary" and log["action"].iloc[0] == "plan_new_draft"


@pytest.mark.parametrize(
    "user, args",
    [
        ("demo_planner", ["backup", "out.gpkg"]),
        ("demo_worker", ["user", "add", "x_y", "--role", "viewer"]),
        ("demo_viewer", ["audit"]),
        ("demo_secretary", ["demo", "--force"]),
    ],
)
def test_cli_refuses_what_the_role_may_not_do(demo: Engine, user, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(demo, user, *args)
    assert result.exit_code == 6, result.output
    assert "无权限" in result.output or "permission" in result.output.lower()
    assert not (tmp_path / "out.gpkg").exists()


def test_cli_user_may_follow_the_sub_command(demo: Engine, tmp_path: Path) -> None:
    url = demo.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        cli, ["backup", str(tmp_path / "b.gpkg"), "--db", url, "--user", "demo_planner"],
        env={"GRIDMAP_PASSWORD": auth.DEMO_USERS["demo_planner"][1]},
    )  # fmt: skip
    assert result.exit_code == 6 and not (tmp_path / "b.gpkg").exists()


# --- the community report: scoped, aggregate, escaped -----------------------------------------


def _report(demo: Engine, code: str) -> str:
    from gridmap.report import build_community_report

    return build_community_report(demo, code, "html", permutations=99).decode("utf-8")


def test_report_of_another_community_is_refused_to_a_secretary(demo: Engine) -> None:
    secretary = auth.principal_for(demo, _user_id(demo, "demo_secretary"))
    with auth.acting_as(secretary), pytest.raises(InputError, match="社区编码不存在") as info:
        _report(demo, _other_community(demo))
    assert _other_community(demo) not in str(info.value).split("known:")[1]  # not even listed


def test_a_planners_report_holds_no_name_or_phone(demo: Engine) -> None:
    planner = auth.principal_for(demo, _user_id(demo, "demo_planner"))
    with auth.acting_as(planner):
        page = _report(demo, auth.DEMO_COMMUNITY_CODE)
    people = read_table(demo, "person")
    names = {n for n in people["name"].dropna() if len(n) >= 2}
    assert not [n for n in names if n in page]
    assert not re.search(r"1[3-9]\d{9}", page)  # no mobile number


def test_hostile_names_are_escaped_in_the_report(demo: Engine) -> None:
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    grids = read_table(demo, "grid")
    gid = int(grids.loc[grids["code"].str.startswith(auth.DEMO_COMMUNITY_CODE), "id"].iloc[0])
    with demo.begin() as conn:  # as an import would store it: verbatim
        conn.execute(text("UPDATE grid SET name = :n WHERE id = :i"), {"n": hostile, "i": gid})
    page = _report(demo, auth.DEMO_COMMUNITY_CODE)
    assert "<script" not in page and "onerror=alert(2)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _user_id(demo: Engine, name: str) -> int:
    users = auth.list_users(demo)
    return int(users.loc[users["name"] == name, "id"].iloc[0])


def test_a_user_disabled_by_a_replaced_street_is_re_scoped_by_the_cli(engine: Engine) -> None:
    load_demo(engine, seed=3)
    code = auth.DEMO_COMMUNITY_CODE
    auth.create_user(engine, "li_shuji", PASSWORD, "secretary", community_code=code,
                     principal=auth.SYSTEM)  # fmt: skip
    with engine.begin() as conn:  # li's community gets a code the new data does not have
        conn.execute(text("UPDATE community SET code = 'X-001' WHERE code = :c"), {"c": code})
    assert load_demo(engine, seed=3, force=True)  # li's community "X-001" is gone
    with pytest.raises(PermissionDenied):
        auth.authenticate(engine, "li_shuji", PASSWORD)
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["user", "change", "li_shuji", "--community", code,
                                      "--db", url])  # fmt: skip
    assert result.exit_code == 0, result.output
    li = auth.authenticate(engine, "li_shuji", PASSWORD)
    assert li.role == "secretary" and li.community_id is not None
    assert _log(engine)["action"].iloc[-2:].tolist() == ["user_change", "login"]
