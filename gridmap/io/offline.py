"""No file makes gridmap open a network connection or read a file outside its input.

Two guards, so that neither is trusted alone:

1. :func:`disable_network` turns GDAL's and PROJ's network access off for the whole process
   before any file is read (:mod:`gridmap.io.sources` calls it when it is imported, and again
   before every GDAL read): ``PROJ_NETWORK=OFF``, ``/vsicurl/`` allowed for no file, GDAL's HTTP
   client sent through a proxy of a scheme no client knows (so it fails before connecting, and
   ``NO_PROXY`` cannot route around it), no retries, no directory listing on open. The options
   are :data:`NETWORK_OFF`.
2. A file that names something outside itself is refused with a sentence before GDAL or
   openpyxl sees it: a GeoJSON linked CRS or a CRS named by a URL or path
   (:func:`geojson_reference`), a KML ``NetworkLink``, a remote or absolute ``href``,
   ``styleUrl`` or ``schemaUrl``, or an external DTD or entity (:func:`kml_reference`), a
   shapefile ``.prj`` that is a URL or path instead of a definition (:func:`prj_reference`),
   an XLSX workbook with external links or externally linked parts (:func:`xlsx_reference`).

What is never fetched stays allowed: a KML ``IconStyle`` icon on the web (GDAL keeps it as
style text; Google Earth writes one into every file) and a workbook's cell hyperlinks.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from typing import Any

from gridmap.io.layers import Issue

log = logging.getLogger(__name__)

#: GDAL/PROJ configuration that keeps them off the network (set as GDAL config options and in
#: ``os.environ``, so PROJ contexts and GDAL threads created later see them too).
NETWORK_OFF: dict[str, str] = {
    "PROJ_NETWORK": "OFF",
    "GDAL_HTTP_PROXY": "gridmap-offline://no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_NETRC": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".gridmap-no-network",
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/gridmap-no-network",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_ALLOW_REMOTE_RESOURCE_TO_ACCESS_LOCAL_FILE": "NO",
}


def disable_network() -> None:
    """Turn GDAL's and PROJ's network access off for this process (idempotent).

    Sets :data:`NETWORK_OFF` in ``os.environ`` and as GDAL config options (pyogrio), turns
    pyproj's network off, and empties ``NO_PROXY``/``no_proxy``, which would let libcurl
    bypass the dead proxy for the hosts they list.
    """
    import pyogrio
    import pyproj.network

    os.environ.update(NETWORK_OFF)
    for name in ("NO_PROXY", "no_proxy"):
        if os.environ.get(name):
            log.debug("%s emptied: GDAL must not reach any host directly", name)
            os.environ[name] = ""
    pyogrio.set_gdal_config_options(dict(NETWORK_OFF))
    pyproj.network.set_network_enabled(active=False)


# --- references to things outside the file ---------------------------------------------------

#: A URL with an authority (``http://``, ``file://``, ``ftp://``…), GDAL's virtual file systems
#: (``/vsicurl/``, ``/vsizip/``…), an absolute path (POSIX, Windows drive or UNC, home) or a
#: path that climbs out of its folder.
_OUTSIDE = re.compile(
    r"^\s*(?:[a-z][a-z0-9+.\-]*://|file:|[/\\~]|[a-z]:[/\\])"  # URL, absolute path
    r"|/vsi[a-z0-9_]+/"  # GDAL's virtual file systems, anywhere
    r"|(?:^|[/\\])\.\.(?:[/\\]|$)",  # climbing out of the folder
    re.IGNORECASE,
)


def outside_reference(value: Any) -> bool:
    """True for text that points outside the file holding it: a URL (``http://``,
    ``file://``…), a GDAL virtual path (``/vsicurl/``…), an absolute path, or ``..``.

    ``EPSG:4490``, ``urn:ogc:def:crs:EPSG::4326``, ``#style`` and ``files/icon.png`` are not.

    Examples
    --------
    >>> [outside_reference(v) for v in ("http://x/y", "/etc/passwd", "C:\\\\a", "../b.kml")]
    [True, True, True, True]
    >>> [outside_reference(v) for v in ("EPSG:4490", "#s1", "files/icon.png")]
    [False, False, False]
    """
    return isinstance(value, str) and bool(_OUTSIDE.search(value))


def _shown(value: str) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= 80 else value[:77] + "…"


#: CRS names GDAL parses locally although they look like URLs (OGC's own CRS register).
_LOCAL_CRS_URLS = ("http://www.opengis.net/def/crs/", "https://www.opengis.net/def/crs/")


def _dicts(doc: Any) -> Iterable[dict]:
    """Every object of a parsed JSON document, without recursion (any depth; lists of
    numbers — coordinates — are not looked into)."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif item and not isinstance(item[0], int | float):  # not coordinates
            stack.extend(v for v in item if isinstance(v, dict | list))


def geojson_reference(doc: Any) -> Issue | None:
    """The problem of a GeoJSON document whose CRS lives outside it, or None.

    A linked CRS (``"crs": {"type": "link", "properties": {"href": …}}``) makes GDAL fetch the
    URL; a named CRS is accepted when it is a name (``EPSG:4490``, an OGC URN or URL), not a
    path or another URL. Any ``crs`` member counts, at any depth.
    """
    for obj in _dicts(doc):
        crs = obj.get("crs")
        if not isinstance(crs, dict):
            continue
        kind = str(crs.get("type", "")).strip().lower()
        props = crs.get("properties") if isinstance(crs.get("properties"), dict) else {}
        href = props.get("href") or props.get("url")
        if kind == "link" or href is not None:
            return Issue(
                f"坐标系是链接式的(crs 指向 {_shown(str(href))}),gridmap 不会去读取文件以外的"
                "内容;请在 crs 中写明坐标系名称(如 EPSG:4490),或删除 crs 并导入时用 --crs 指定",
                f"the CRS is a link (crs points to {_shown(str(href))}); gridmap reads nothing "
                "outside the file: name the CRS instead (e.g. EPSG:4490), or remove crs and "
                "give --crs when importing",
            )
        name = props.get("name")
        if outside_reference(name) and not str(name).strip().lower().startswith(_LOCAL_CRS_URLS):
            return Issue(
                f"坐标系名称是网址或路径({_shown(str(name))}),gridmap 不会去读取文件以外的"
                "内容;请写明坐标系名称(如 EPSG:4490)",
                f"the CRS is named by a URL or path ({_shown(str(name))}); gridmap reads "
                "nothing outside the file: name the CRS (e.g. EPSG:4490)",
            )
    return None


_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)\b[^>]*?\b(?:SYSTEM|PUBLIC)\b", re.IGNORECASE)
_NETWORK_LINK = re.compile(r"<(?:[\w.\-]+:)?NetworkLink\b", re.IGNORECASE)
_KML_REF = re.compile(
    r"<(?:[\w.\-]+:)?(href|styleUrl|targetHref)\s*>\s*(?:<!\[CDATA\[)?([^<\]]{0,4096})"
    r"|\b(schemaUrl|href)\s*=\s*[\"']([^\"'<>]{0,4096})",  # bounded: no regex blow-up
    re.IGNORECASE,
)
_ICON_STYLE = re.compile(r"<(/?)(?:[\w.\-]+:)?(?:IconStyle|ItemIcon)\b", re.IGNORECASE)


def external_dtd(head: bytes) -> bool:
    """True for XML whose DOCTYPE or an ENTITY names an external identifier (SYSTEM/PUBLIC)."""
    return bool(_DTD.search(head))


def _dtd_issue() -> Issue:
    return Issue(
        "XML 声明了外部 DTD 或实体(SYSTEM/PUBLIC),gridmap 不会去读取文件以外的内容;"
        "请删除 <!DOCTYPE …> 声明后再导入",
        "the XML declares an external DTD or entity (SYSTEM/PUBLIC); gridmap reads nothing "
        "outside the file: remove the <!DOCTYPE …> declaration",
    )


def kml_reference(text: str) -> Issue | None:
    """The problem of a KML document that points outside itself, or None.

    Refused: a ``NetworkLink`` (its content is elsewhere), an external DTD or entity, and an
    ``href``, ``styleUrl``, ``targetHref`` or ``schemaUrl`` that is a URL, an absolute path or
    climbs out with ``..``. Allowed: relative paths inside a KMZ, ``#id`` references, and web
    icons of an ``IconStyle``/``ItemIcon`` (style text GDAL never fetches).
    """
    if external_dtd(text[:65536].encode("utf-8", errors="replace")):
        return _dtd_issue()
    link = _NETWORK_LINK.search(text)
    if link:
        return Issue(
            "KML 含网络链接(NetworkLink),其内容在文件以外,gridmap 不会去读取;请在 Google "
            "Earth 中把链接的图层另存为 KML/KMZ 后再导入",
            "the KML holds a NetworkLink: its content is elsewhere and gridmap reads nothing "
            "outside the file; save the linked layer as KML/KMZ in Google Earth and import that",
        )
    marks: list[tuple[int, bool]] | None = None  # (position, opens) of IconStyle tags
    for match in _KML_REF.finditer(text):
        what = match.group(1) or match.group(3)
        value = (match.group(2) if match.group(1) else match.group(4)) or ""
        if not outside_reference(value):
            continue
        if marks is None:
            marks = [(m.start(), m.group(1) == "") for m in _ICON_STYLE.finditer(text)]
        before = bisect.bisect_left(marks, (match.start(), False)) - 1
        in_icon = before >= 0 and marks[before][1]
        if in_icon and re.match(r"\s*https?://", value, re.IGNORECASE):
            continue  # a style's icon: never fetched
        return Issue(
            f"KML 的 {what} 指向文件以外({_shown(value)}),gridmap 不会去读取;请把所需内容"
            "放进文件(KMZ 中用相对路径)",
            f"the KML's {what} points outside the file ({_shown(value)}) and gridmap reads "
            "nothing outside it; put what it needs into the file (relative paths in a KMZ)",
        )
    return None


def prj_reference(text: str) -> Issue | None:
    """The problem of a shapefile ``.prj`` that is a URL or path instead of a CRS definition."""
    if outside_reference(text.strip()):
        return Issue(
            f".prj 文件不是坐标系定义,而是网址或路径({_shown(text)}),gridmap 不会去读取;"
            "请放入真正的 .prj(WKT),或删除 .prj 并导入时用 --crs 指定",
            f"the .prj is a URL or path ({_shown(text)}), not a CRS definition, and gridmap "
            "reads nothing outside the file; include the real .prj (WKT), or remove it and "
            "give --crs when importing",
        )
    return None


_RELATIONSHIP = re.compile(rb"<(?:[\w.\-]+:)?Relationship\b[^>]*>", re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(rb"\b(Type|Target|TargetMode)\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)


def xlsx_reference(
    members: list[zipfile.ZipInfo], read: Callable[[zipfile.ZipInfo, int], bytes]
) -> Issue | None:
    """The problem of an XLSX workbook that points outside itself, or None.

    Refused: external links (``xl/externalLinks/``: formulas reading other workbooks or web
    addresses), any part related with ``TargetMode="External"`` except cell hyperlinks, and an
    external DTD in any XML part. ``read(member, size)`` gives up to ``size`` bytes of a member
    (:func:`gridmap.io.containers.read_member`).
    """
    for member in members:
        if member.filename.replace("\\", "/").lower().startswith("xl/externallinks/"):
            return Issue(
                "工作簿含外部链接(引用其他工作簿或网址),gridmap 不会去读取文件以外的内容;"
                "请把数据复制后“选择性粘贴 → 数值”,另存后再导入",
                "the workbook has external links (to other workbooks or web addresses) and "
                "gridmap reads nothing outside the file; paste the data as values and save it "
                "again",
            )
    for member in members:
        name = member.filename.lower()
        if name.endswith(".xml") and external_dtd(read(member, 65536)):
            return _dtd_issue()
        if not name.endswith(".rels"):
            continue
        data = read(member, 2**20)
        if external_dtd(data):
            return _dtd_issue()
        for rel in _RELATIONSHIP.findall(data):
            attrs = {
                k.decode().lower(): v.decode("utf-8", "replace") for k, v in _ATTR.findall(rel)
            }
            external = attrs.get("targetmode", "").lower() == "external"
            if external and not attrs.get("type", "").lower().endswith("/hyperlink"):
                target = _shown(attrs.get("target", ""))
                return Issue(
                    f"工作簿链接了外部文件或网址({target}),gridmap 不会去读取;请去掉链接"
                    "(粘贴为数值、嵌入图片)后另存",
                    f"the workbook links an outside file or address ({target}) and gridmap "
                    "reads nothing outside the file; remove the link (paste values, embed "
                    "pictures) and save again",
                )
    return None
