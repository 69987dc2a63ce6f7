"""Reading a dataset's source (CSV, Parquet or embedded data) into a DataFrame.

Everything that can be wrong with the bytes themselves is caught here with the file and
line at fault: missing, empty, not UTF-8, ragged rows, unreadable format. Whether the
values make sense is `core.data.validation`'s job.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation.errors import FactoryError

if TYPE_CHECKING:
    import pandas as pd

EMBEDDED_PREFIX = "vega:"
MAX_REPORTED = 20


@dataclass
class SourceFrame:
    """A source read into memory, with what is needed to point back into the file."""

    frame: pd.DataFrame
    label: str
    """How the user named the source (a path as given, or `vega:<name>`)."""
    path: str
    """The resolved file read."""
    sha256: str
    kind: str
    """'csv' or 'parquet'."""
    lines: list[int] | None = field(default=None, repr=False)
    """For CSV: the file line on which each data row ends (1-based), for error messages."""

    def where(self, row: int | None) -> dict[str, Any]:
        """`{"row": n, "line": m}` for the 0-based row position `row`."""
        if row is None:
            return {"row": None, "line": None}
        line = self.lines[row] if self.lines is not None and 0 <= row < len(self.lines) else None
        return {"row": row + 1, "line": line}


def embedded_path(name: str) -> Path:
    """The on-disk file of an embedded vega_datasets dataset (no download)."""
    import vega_datasets

    folder = Path(vega_datasets.__file__).resolve().parent / "_data"
    path = folder / f"{name}.csv"
    if not path.is_file():
        available = sorted(p.stem for p in folder.glob("*.csv"))
        raise FactoryError(
            "source_not_found",
            f"No embedded dataset {EMBEDDED_PREFIX}{name}",
            hint=f"Embedded CSV datasets: {', '.join(EMBEDDED_PREFIX + a for a in available)}",
            details={"source": f"{EMBEDDED_PREFIX}{name}", "available": available},
        )
    return path


def resolve(root: Path, source: str) -> Path:
    if source.startswith(EMBEDDED_PREFIX):
        return embedded_path(source[len(EMBEDDED_PREFIX) :])
    path = Path(source).expanduser()
    return path if path.is_absolute() else (root / path)


def _kind_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    if suffixes and suffixes[-1] in (".csv", ".txt", ".tsv"):
        return "csv"
    raise FactoryError(
        "source_format",
        f"{path}: unknown file type {path.suffix or '(no suffix)'!r}",
        hint="Give a .csv or .parquet file.",
        details={"file": str(path)},
    )


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FactoryError(
            "source_encoding",
            f"{path}:{line}: not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, "
            f"column {column} (file offset {exc.start})",
            hint="Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`).",
            details={"file": str(path), "line": line, "column": column, "offset": exc.start},
        ) from None
    return text


def _check_csv_shape(path: Path, text: str, delimiter: str) -> list[int]:
    """Line numbers of the data rows; ragged rows (field count differs from the header) raise."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        header = []
    if not header or all(not h.strip() for h in header):
        raise FactoryError(
            "source_empty",
            f"{path}: the file has no header line",
            hint="A CSV source needs a header row naming its columns.",
            details={"file": str(path)},
        )
    width = len(header)
    lines: list[int] = []
    ragged: list[dict[str, int]] = []
    try:
        for record in reader:
            if not record:  # blank line
                continue
            if len(record) != width:
                ragged.append({"line": reader.line_num, "fields": len(record), "expected": width})
                if len(ragged) >= MAX_REPORTED:
                    break
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise FactoryError(
            "source_ragged",
            f"{path}:{reader.line_num}: malformed CSV: {exc}",
            hint="Check the quoting on that line.",
            details={"file": str(path), "line": reader.line_num},
        ) from None
    if ragged:
        first = ragged[0]
        raise FactoryError(
            "source_ragged",
            f"{path}:{first['line']}: line {first['line']} has {first['fields']} fields, "
            f"the header has {width}"
            + (f" ({len(ragged)} such lines or more)" if len(ragged) > 1 else ""),
            hint="Every row needs one value per header column; fix or remove those lines.",
            details={"file": str(path), "ragged_lines": ragged, "header_fields": width},
        )
    if not lines:
        raise FactoryError(
            "source_empty",
            f"{path}: the file has a header but no data rows",
            hint="Add rows, or point the dataset at the right file.",
            details={"file": str(path)},
        )
    return lines


def read_source(root: Path, source: str) -> SourceFrame:
    """Read `source` (relative to `root`, absolute, or `vega:<name>`)."""
    import pandas as pd

    path = resolve(root, source)
    if not path.exists():
        raise FactoryError(
            "source_not_found",
            f"{path}: file not found",
            hint="Check the path (relative paths are from the workspace root) or the dataset's "
            "`source` in factory.toml.",
            details={"file": str(path), "source": source},
        )
    if path.is_dir():
        raise FactoryError(
            "source_format",
            f"{path}: is a folder, not a file",
            hint="Give a .csv or .parquet file.",
            details={"file": str(path)},
        )
    kind = _kind_of(path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise FactoryError(
            "source_empty",
            f"{path}: the file is empty",
            hint="Point the dataset at a file with a header and rows.",
            details={"file": str(path)},
        )
    if kind == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise FactoryError(
                "source_format",
                f"{path}: not a readable Parquet file: {exc}",
                hint="Re-export the file, or give a CSV.",
                details={"file": str(path)},
            ) from None
        if frame.empty:
            raise FactoryError(
                "source_empty",
                f"{path}: the Parquet file has no rows",
                details={"file": str(path)},
            )
        return SourceFrame(frame.reset_index(drop=True), source, str(path), digest, kind)
    text = _decode(path, data)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    lines = _check_csv_shape(path, text, delimiter)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise FactoryError(
            "source_format",
            f"{path}: could not parse CSV: {exc}",
            details={"file": str(path)},
        ) from None
    if len(frame) != len(lines):  # pragma: no cover - csv and pandas disagree on quoting
        lines_or_none: list[int] | None = None
    else:
        lines_or_none = lines
    return SourceFrame(frame, source, str(path), digest, kind, lines_or_none)
