"""Files in and out: import layers from the files users hold, export them, back a street up.

Import reads GeoJSON, GeoPackage, zipped Shapefile (honouring ``.cpg``; GBK attributes), KML
(GDAL's LIBKML driver through pyogrio), CSV and XLSX with lon/lat or WKT columns. It runs in
three steps, each usable alone (the page shows the first two to the user):

1. :func:`read_source` — the file as a table of text plus geometry and the CRS it declares;
2. :func:`prepare_import` — columns mapped to fields, coordinates brought to WGS 84 (projected
   CRSs, GCJ-02/BD-09, swapped axes only when asked), every row validated against the file and
   the database (one query per layer), giving an :class:`ImportPlan` of what would be added,
   changed and left alone — the dry run — or an :class:`ImportRejected` listing every problem;
3. :func:`apply_import` — the plan written in one transaction: all rows or none.

Problems name the file, the row (spreadsheets count as Excel does: the header is row 1, the
first record row 2) or feature (1-based) and the field, in Chinese and English.

Export writes each layer, or the whole street, to GeoJSON, GeoPackage, zipped Shapefile (with a
``.cpg``), XLSX and CSV (UTF-8 with BOM), using the field names import reads back, so an export
re-imports unchanged. Spreadsheet cells are neutralised against formula injection: text that
starts with ``= + - @`` or a tab/CR gets a leading apostrophe (and import strips it again).
:func:`backup` / :func:`restore` put every table of the database, ids included, into one
GeoPackage and back.

The package's modules, each with one job (import the names below from ``gridmap.io``):

- :mod:`~gridmap.io.spreadsheets` — formula neutralisation; tables as CSV/XLSX bytes;
- :mod:`~gridmap.io.layers` — what can be imported (:data:`LAYERS`, :class:`LayerSpec`,
  :class:`Field`) and the problems an import reports (:class:`Issue`, :class:`ImportRejected`);
- :mod:`~gridmap.io.sources` — reading files of every format (:func:`read_source`,
  :func:`read_upload`) into a :class:`SourceTable`; :func:`read_spreadsheet` for readers with
  columns of their own (members lists, hotline exports);
- :mod:`~gridmap.io.vectors` — GeoJSON, GeoPackage, Shapefile and KML/KMZ through GDAL;
- :mod:`~gridmap.io.tables` — CSV and XLSX as text, rows numbered as Excel does;
- :mod:`~gridmap.io.offline` — no file makes gridmap open a connection or a file outside it:
  GDAL/PROJ network off (:func:`~gridmap.io.offline.disable_network`), linked CRSs, KML network
  links, remote ``href`` values and XLSX external links refused;
- :mod:`~gridmap.io.containers` — every zip, KMZ and XLSX checked before it is unpacked:
  passwords, unknown compression, the size limit applied to the unpacked bytes;
- :mod:`~gridmap.io.encodings` — UTF-8 or GBK detected, Big5/Shift-JIS and NUL bytes refused;
- :mod:`~gridmap.io.parsing` — cells parsed into typed values and spreadsheet coordinates;
- :mod:`~gridmap.io.placing` — geometries brought to WGS 84 and checked;
- :mod:`~gridmap.io.derive` — what a file does not hold, derived and flagged: a building's
  community from its location, its estimated households and residents;
- :mod:`~gridmap.io.database` — small database helpers shared by import, export and restore;
- :mod:`~gridmap.io.imports` — column mapping, :func:`prepare_import` (the dry run);
- :mod:`~gridmap.io.writing` — :func:`apply_import` (the write, one transaction) and
  :func:`import_file`;
- :mod:`~gridmap.io.exports` — :func:`export_frame`, :func:`export_layer`,
  :func:`export_filename`;
- :mod:`~gridmap.io.backups` — :func:`backup` and :func:`restore`;
- :mod:`~gridmap.io.streets` — :func:`import_street`: every layer of a street's files (a
  GeoPackage of several layers, a zip or folder of shapefiles) in one transaction.
"""

from __future__ import annotations

from gridmap.io.backups import BACKUP_FORMAT, backup, restore
from gridmap.io.derive import derive_buildings, estimate_households, estimate_residents
from gridmap.io.exports import (
    EXPORT_FORMATS,
    SHAPEFILE_NAMES,
    XLSX_CELL_MAX,
    export_filename,
    export_frame,
    export_layer,
)
from gridmap.io.imports import (
    INITIAL_PLAN_NAME,
    ImportPlan,
    import_fields,
    prepare_import,
    suggest_mapping,
)
from gridmap.io.layers import (
    ENUM_WORDS,
    LAYER_ALIASES,
    LAYERS,
    Field,
    ImportRejected,
    Issue,
    LayerSpec,
    layer_spec,
)
from gridmap.io.osm import read_osm
from gridmap.io.parsing import DMS_PATTERN
from gridmap.io.sources import (
    SUFFIXES,
    SourceTable,
    read_layers,
    read_source,
    read_spreadsheet,
    read_upload,
    read_upload_layers,
    source_layers,
    upload_name,
)
from gridmap.io.spreadsheets import (
    FORMULA_PREFIXES,
    neutralise_formula,
    table_to_csv,
    table_to_xlsx,
    tables_to_xlsx,
    unneutralise_formula,
)
from gridmap.io.streets import StreetImport, StreetRejected, import_street
from gridmap.io.writing import apply_import, import_file

__all__ = [
    "BACKUP_FORMAT",
    "DMS_PATTERN",
    "ENUM_WORDS",
    "EXPORT_FORMATS",
    "FORMULA_PREFIXES",
    "INITIAL_PLAN_NAME",
    "LAYERS",
    "LAYER_ALIASES",
    "SHAPEFILE_NAMES",
    "SUFFIXES",
    "XLSX_CELL_MAX",
    "Field",
    "ImportPlan",
    "ImportRejected",
    "Issue",
    "LayerSpec",
    "SourceTable",
    "StreetImport",
    "StreetRejected",
    "apply_import",
    "backup",
    "derive_buildings",
    "estimate_households",
    "estimate_residents",
    "export_filename",
    "export_frame",
    "export_layer",
    "import_fields",
    "import_file",
    "import_street",
    "layer_spec",
    "neutralise_formula",
    "prepare_import",
    "read_layers",
    "read_osm",
    "read_source",
    "read_spreadsheet",
    "read_upload",
    "read_upload_layers",
    "restore",
    "source_layers",
    "suggest_mapping",
    "table_to_csv",
    "table_to_xlsx",
    "tables_to_xlsx",
    "unneutralise_formula",
    "upload_name",
]
