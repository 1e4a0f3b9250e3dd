"""Zip containers opened for reading — a zipped shapefile, a KMZ, an XLSX workbook — checked
before anything is unpacked.

Every container goes through :func:`archive_members`, the one check of a zip's members: files
only (no folders, no macOS resource forks listed), none password-protected, none packed with a
method gridmap cannot unpack, not too many, and together no larger *once unpacked* than
:data:`gridmap.settings.IMPORT_MAX_BYTES` — the limit a file has, applied to its decompressed
bytes, so a small file that inflates to hundreds of megabytes is refused unread. Members are
then read with :func:`read_member`, which never returns more than a member declares (Python's
zip reader stops there and checks the CRC), so a member that lies about its size is refused
as damaged instead of filling memory. GDAL and openpyxl only ever see a container that passed.

gridmap reads no gzip (``.gz``) file: such bytes are refused as binary by the text readers.
"""

from __future__ import annotations

import contextlib
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from gridmap import settings
from gridmap.i18n import pair
from gridmap.io.layers import ImportRejected, file_error

#: Compression methods Python's zip reader unpacks (others are refused with a sentence).
ZIP_METHODS: dict[int, str] = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}

#: The most members a container may hold (a zip of a street's layers holds dozens).
ZIP_MAX_MEMBERS = 10_000

#: Words for each kind of container in messages: (中文, English).
_WHAT: dict[str, tuple[str, str]] = {
    "zip": pair("zip 压缩包"),
    "kmz": pair("KMZ 文件"),
    "xlsx": pair("XLSX 工作簿"),
}

#: What reading a damaged member raises (zipfile, zlib, bz2/lzma and the OS).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            RuntimeError, NotImplementedError, ValueError)  # fmt: skip


def damaged(shown: str, what: str = "zip", exc: BaseException | None = None) -> ImportRejected:
    """The refusal of a container that cannot be unpacked (``what``: zip, kmz or xlsx)."""
    zh, en = _WHAT[what]
    reason = f": {exc}" if exc is not None and str(exc) else ""
    return file_error(
        shown,
        f"{zh}已损坏或不完整(下载中断?)",
        f"{en} is damaged or truncated (an interrupted download?){reason}",
    )


def open_archive(path: Path, shown: str, what: str = "zip") -> zipfile.ZipFile:
    """Open a zip container, refusing a damaged one with a sentence naming the file."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise damaged(shown, what) from exc


def archive_members(
    archive: zipfile.ZipFile, shown: str, what: str = "zip", max_bytes: int | None = None
) -> list[zipfile.ZipInfo]:
    """The files of a container, after the one check every container goes through.

    Parameters
    ----------
    archive : zipfile.ZipFile
    shown : str
        The file name shown in messages.
    what : str
        ``zip``, ``kmz`` or ``xlsx`` (the words of the messages).
    max_bytes : int, optional
        The most all members may hold once unpacked; default
        :data:`gridmap.settings.IMPORT_MAX_BYTES`.

    Returns
    -------
    list of zipfile.ZipInfo
        Files only: no folders, no ``__MACOSX`` resource forks (those still count towards the
        size).

    Raises
    ------
    ImportRejected
        When a member is password-protected or packed with a method gridmap cannot unpack, or
        the container holds too many members or too many bytes once unpacked.
    """
    limit = settings.IMPORT_MAX_BYTES if max_bytes is None else max_bytes
    zh, en = _WHAT[what]
    infos = [m for m in archive.infolist() if not m.is_dir()]
    if len(infos) > ZIP_MAX_MEMBERS:
        raise file_error(
            shown,
            f"{zh}中的文件过多({len(infos)} 个,上限 {ZIP_MAX_MEMBERS} 个)",
            f"{en} holds too many files ({len(infos)}, the limit is {ZIP_MAX_MEMBERS})",
        )
    for member in infos:
        if member.flag_bits & 0x1:
            raise file_error(
                shown,
                f"{zh}设有密码(其中的 {member.filename} 已加密),无法读取;请解压后不设密码"
                "重新压缩(工作簿:在 Excel 中取消密码后另存)",
                f"{en} is password-protected ({member.filename} is encrypted); unpack it and "
                "pack it again without a password (a workbook: remove the password in Excel "
                "and save it again)",
            )
        if member.compress_type not in ZIP_METHODS:
            raise file_error(
                shown,
                f"{zh}使用了不支持的压缩方式(方法 {member.compress_type},见 "
                f"{member.filename});请用普通 zip(Deflate)重新压缩",
                f"{en} uses a compression method gridmap cannot unpack (method "
                f"{member.compress_type}, in {member.filename}); pack it again as an ordinary "
                "(Deflate) zip",
            )
    total = sum(m.file_size for m in infos)
    if total > limit:
        raise file_error(
            shown,
            f"解压后过大({total / 2**20:.1f} MB,上限 {limit / 2**20:.0f} MB);请按社区拆分后"
            "分批导入",
            f"too large once unzipped ({total / 2**20:.1f} MB, the limit is "
            f"{limit / 2**20:.0f} MB); split it, e.g. by community",
        )
    return [m for m in infos if not m.filename.startswith("__MACOSX")]


def read_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    shown: str,
    what: str = "zip",
    size: int | None = None,
) -> bytes:
    """The bytes of a member that passed :func:`archive_members` (the first ``size`` only when
    given); a damaged member, or one holding more than it declares, is refused as damaged."""
    try:
        with archive.open(member) as fh:
            return fh.read() if size is None else fh.read(size)
    except _DAMAGED as exc:
        raise damaged(shown, what, exc) from exc


@contextlib.contextmanager
def checked_archive(
    path: Path, shown: str, what: str = "zip"
) -> Iterator[tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]]:
    """A container opened and checked (:func:`open_archive`, :func:`archive_members`): the
    archive and its files, closed when the context ends."""
    archive = open_archive(path, shown, what)
    with archive:
        yield archive, archive_members(archive, shown, what)
