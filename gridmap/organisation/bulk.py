"""Bulk import of members from a spreadsheet: read it into standard columns, then import all
rows in one transaction or none.

:func:`read_member_file` reads CSV (UTF-8 or GBK) or XLSX with the checks of every import
(:func:`gridmap.io.sources.read_spreadsheet`: encoding, NUL characters, formula cells, size,
external links) and maps the recognised headers (:data:`MEMBER_FILE_COLUMNS`);
:func:`import_members` resolves organisations, buildings and existing persons, checks every row
like a single edit (:func:`gridmap.organisation.members.member_values`) and names every bad
row. Phones must be mainland mobile or landline numbers
(:func:`gridmap.validation.normalise_phone`) and dates possible
(:func:`gridmap.validation.check_member_dates`: not before the Party's founding or after today,
no registration or contact before joining).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, insert

from gridmap import settings
from gridmap.auth import audited, end_demo, mask_name
from gridmap.db import transaction
from gridmap.errors import InputError
from gridmap.io.sources import read_spreadsheet
from gridmap.organisation.checks import clean_name
from gridmap.organisation.members import member_values
from gridmap.organisation.people import clean_suffix
from gridmap.organisation.reading import assert_tree
from gridmap.repository import read_table, table
from gridmap.validation import ValueProblem, normalise_phone

__all__ = ["MEMBER_FILE_COLUMNS", "import_members", "read_member_file"]

#: Spreadsheet headers recognised for each member field (first match wins).
MEMBER_FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "phone": ("手机", "手机号", "电话", "联系电话", "phone"),
    "id_suffix": ("身份证后四位", "身份证后几位", "id_suffix"),
    "category": ("党员类别", "类别", "category"),
    "party_org": ("党组织", "所在党组织", "党支部", "party_org"),
    "building_code": ("楼栋编码", "building_code"),
    "address": ("地址", "住址", "居住地址", "address"),
    "joined_on": ("入党日期", "入党时间", "joined_on"),
    "registered_on": ("报到日期", "双报到日期", "registered_on"),
    "work_unit": ("工作单位", "work_unit"),
    "specialties": ("志愿服务特长", "特长", "specialties"),
    "last_contact_on": ("最后联系日期", "last_contact_on"),
}
_REQUIRED = ("name", "category", "party_org")


def read_member_file(source: str | Path | bytes, filename: str | None = None) -> pd.DataFrame:
    """Read a members spreadsheet (CSV in UTF-8 or GBK, or XLSX) into standard columns.

    The file is read by :func:`gridmap.io.sources.read_spreadsheet`, with every check an
    import makes (size, encoding — Big5 or Shift-JIS refused, not stored as mojibake —, NUL
    characters, formula cells, external links, zip bombs); a refusal names the file, row and
    field.

    Parameters
    ----------
    source : path or bytes
        The file, or its bytes (then ``filename`` tells CSV from XLSX by its extension).
    filename : str, optional
        The name shown in messages (default the file's name; ``members.csv`` for bytes).

    Returns
    -------
    DataFrame
        Columns named as the keys of :data:`MEMBER_FILE_COLUMNS` (those present), all text
        (None when blank), and ``row``: the spreadsheet row number (header = row 1; blank
        lines counted as the spreadsheet counts them).

    Raises
    ------
    InputError
        Unreadable or empty file (an :class:`~gridmap.io.layers.ImportRejected`), or a
        required column (姓名, 党员类别, 党组织, and 楼栋编码 or 地址) missing.
    """
    name = filename or ("members.csv" if isinstance(source, bytes) else Path(source).name)
    raw = read_spreadsheet(source, name)
    headers = {str(c).strip(): c for c in raw.columns}
    out = pd.DataFrame(index=raw.index)
    for field, names in MEMBER_FILE_COLUMNS.items():
        for header in names:
            if header in headers:
                out[field] = raw[headers[header]].astype(object)
                break
    missing = [MEMBER_FILE_COLUMNS[f][0] for f in _REQUIRED if f not in out]
    if "building_code" not in out and "address" not in out:
        missing.append("楼栋编码 或 地址")
    if missing:
        raise InputError(f"{name}: 缺少列 / missing column(s): {'、'.join(missing)}")
    out["row"] = [int(i) for i in raw.index]  # the spreadsheet's own row numbers
    return out.reset_index(drop=True)


def _stored_phone(phone: str) -> str:
    """A stored phone in the form :func:`normalise_phone` gives (as stored when invalid)."""
    try:
        return normalise_phone(phone) or phone
    except ValueProblem:
        return phone


def _normal(text: str) -> str:
    return "".join(str(text).split()).replace("号楼", "栋").replace("幢", "栋")


@audited("member_import", "member", permission="import")
def import_members(engine: Engine, rows: pd.DataFrame, filename: str = "members") -> dict[str, int]:
    """Import members read by :func:`read_member_file`: all rows, or none.

    Each row names an organisation (by name), a category (Chinese label or code) and a building
    (by code, else by address: the building's name, optionally after the community's name). A
    person with the same name and phone already stored is reused (e.g. a building leader).

    Returns
    -------
    dict
        ``members`` and ``persons`` added.

    Raises
    ------
    InputError
        Naming every bad row and field (up to ``IMPORT_MAX_ISSUES_SHOWN``); nothing is written.
    """
    errors: list[str] = []
    with transaction(engine) as conn:
        end_demo(conn)  # data from outside: the demo logins end here (undone if refused)
        orgs = read_table(conn, "party_org")
        buildings = read_table(conn, "building")
        communities = read_table(conn, "community")
        persons = read_table(conn, "person")
        members = read_table(conn, "member")
        org_by_name = orgs.groupby("name")["id"].apply(list).to_dict()
        by_code = dict(zip(buildings["code"], buildings["id"], strict=True))
        cname = buildings["community_id"].map(communities.set_index("id")["name"]).fillna("")
        address_ids: dict[str, list[int]] = {}
        for bid, bname, com in zip(buildings["id"], buildings["name"], cname, strict=True):
            for key in {_normal(bname), _normal(com + bname)}:
                address_ids.setdefault(key, []).append(int(bid))
        existing = {
            (n, _stored_phone(p)): int(i)
            for i, n, p in zip(persons["id"], persons["name"], persons["phone"], strict=True)
            if p is not None
        }
        member_people = set(members["person_id"].astype(int))
        known = {
            "party_org": {int(r["id"]): r for r in orgs.to_dict("records")},
            "building": {int(i): {"id": int(i)} for i in buildings["id"]},
        }
        seen: set[tuple[str, str | None]] = set()
        prepared: list[tuple[dict, dict]] = []
        for rec in rows.to_dict("records"):
            where = f"{filename} 第 {rec['row']} 行"
            try:
                person = {
                    "name": clean_name(rec.get("name") or "", "姓名", 50),
                    "phone": normalise_phone(rec.get("phone")),
                    "id_suffix": clean_suffix(rec.get("id_suffix")),
                }
            except InputError as exc:
                errors.append(f"{where} 姓名/手机/身份证: {exc}")
                continue
            key = (person["name"], person["phone"])
            if person["phone"] is not None and key in seen:
                errors.append(f"{where} 姓名: 与前面的行重复 / duplicate of an earlier row")
                continue
            seen.add(key)
            pid = existing.get(key)
            if pid is not None and pid in member_people:
                errors.append(
                    f"{where} 姓名: {mask_name(person['name'])} 已是党员 / already a member"
                )
                continue
            org_ids = org_by_name.get((rec.get("party_org") or "").strip(), [])
            if len(org_ids) != 1:
                why = "不存在 / unknown" if not org_ids else "重名 / ambiguous"
                errors.append(f"{where} 党组织: 「{rec.get('party_org')}」{why}")
                continue
            building = None
            if rec.get("building_code"):
                building = by_code.get(rec["building_code"])
                if building is None:
                    errors.append(f"{where} 楼栋编码: 「{rec['building_code']}」不存在 / unknown")
                    continue
            elif rec.get("address"):
                found = address_ids.get(_normal(rec["address"]), [])
                if len(found) != 1:
                    why = "找不到楼栋 / no building" if not found else "对应多栋楼 / ambiguous"
                    errors.append(f"{where} 地址: 「{rec['address']}」{why}")
                    continue
                building = found[0]
            values = {
                "party_org_id": org_ids[0],
                "category": rec.get("category") or "",
                "building_id": None if building is None else int(building),
                **{k: rec.get(k) for k in ("joined_on", "registered_on", "work_unit",
                                            "specialties", "last_contact_on")},
            }  # fmt: skip
            try:
                values = member_values(conn, values, known)  # dates checked there too
            except ValueProblem as exc:
                errors.append(f"{where} 字段 / field {exc.field}: {exc}")
                continue
            except InputError as exc:
                errors.append(f"{where}: {exc}")
                continue
            prepared.append(({**person, "id": pid}, values))
        if errors:
            shown = errors[: settings.IMPORT_MAX_ISSUES_SHOWN]
            more = len(errors) - len(shown)
            raise InputError(
                f"{len(errors)} 行有错误,未导入任何党员 / {len(errors)} bad rows, nothing "
                "imported:\n" + "\n".join(shown) + (f"\n… 另有 {more} 行" if more else "")
            )
        person_t, member_t = table("person"), table("member")
        new_people = [{**p, "roles": ""} for p, _ in prepared if p["id"] is None]
        for person in new_people:
            del person["id"]
        new_ids = iter(())
        if new_people:  # one executemany, ids back in the rows' order
            new_ids = iter(
                conn.execute(
                    insert(person_t).returning(person_t.c.id, sort_by_parameter_order=True),
                    new_people,
                )
                .scalars()
                .all()
            )
        rows_out = [
            {"person_id": int(p["id"] if p["id"] is not None else next(new_ids)), **values}
            for p, values in prepared
        ]
        if rows_out:
            conn.execute(insert(member_t), rows_out)
        assert_tree(conn)
    return {"members": len(prepared), "persons": len(new_people)}
