"""Reading a dataset's source (CSV, Parquet or embedded data) into a DataFrame.

Everything that can be wrong with the bytes themselves is caught here with the file and
line at fault: missing, empty, not UTF-8, ragged rows, unreadable format. Whether the
values make sense is `core.data.validation`'s job.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.foundation.errors import FactoryError

if TYPE_CHECKING:
    import numpy as np
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


# ------------------------------------------------------------------- reading in pieces

CHUNK_BYTES_ENV = "FACTORY_DATA_CHUNK_BYTES"
DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
"""About this much source text is parsed at a time: a file no larger is read in one piece,
exactly as a whole-file read would (ADR 0029)."""
BLOCK_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 256 * 1024 * 1024
"""A CSV line longer than this is refused: it would have to be held whole in memory."""
MAX_ROW_GROUP_BYTES = 1024 * 1024 * 1024
"""A Parquet row group larger than this (uncompressed) is refused for the same reason."""


def chunk_bytes_setting() -> int:
    """The chunk size: `FACTORY_DATA_CHUNK_BYTES` when set (tests and tuning), else 32 MiB."""
    raw = os.environ.get(CHUNK_BYTES_ENV)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise FactoryError(
                "config_invalid",
                f"{CHUNK_BYTES_ENV}={raw!r} is not a positive number of bytes",
                hint=f"Unset {CHUNK_BYTES_ENV}, or set it to e.g. 33554432 (32 MiB).",
                details={"variable": CHUNK_BYTES_ENV, "value": raw},
            )
        return value
    return DEFAULT_CHUNK_BYTES


@dataclass
class SourceChunk:
    """A run of consecutive data rows of a source, parsed on its own."""

    frame: pd.DataFrame
    """The rows, indexed by their 0-based position in the whole source."""
    start: int
    """Position of the first row in the whole source."""
    lines: np.ndarray | None = field(default=None, repr=False)
    """For CSV: the file line on which each of these rows ends (1-based)."""

    def where(self, row: int | None) -> dict[str, Any]:
        """`{"row": n, "line": m}` for the 0-based source position `row`."""
        if row is None:
            return {"row": None, "line": None}
        local = row - self.start
        line = (
            int(self.lines[local])
            if self.lines is not None and 0 <= local < len(self.lines)
            else None
        )
        return {"row": row + 1, "line": line}


@dataclass
class _CsvState:
    """Where a CSV read in chunks stands, across its blocks."""

    delimiter: str
    header_text: str | None = None
    width: int = 0
    lines: int = 0
    """Physical lines consumed so far."""
    start: int = 0
    """Rows handed out in earlier chunks."""
    body: list[str] = field(default_factory=list)
    body_chars: int = 0
    ends: list[int] = field(default_factory=list)
    ragged: list[dict[str, int]] = field(default_factory=list)


def _plain(block: str) -> bool:
    """Whether each line of `block` is one record: no quotes, no lone carriage returns."""
    return '"' not in block and block.count("\r") == block.count("\r\n")


class SourceStream:
    """A source read in pieces of about `chunk_bytes` each, so memory stays bounded whatever
    the file's size. The same faults as `read_source` are raised with the same codes and
    locations; `sha256` is known once every chunk was read."""

    def __init__(self, root: Path, source: str) -> None:
        self.label = source
        path = resolve(root, source)
        _check_path(path, source)
        self.file = path
        self.path = str(path)
        self.kind = _kind_of(path)
        self.size = path.stat().st_size
        self.sha256: str | None = None
        self.rows = 0

    def chunks(
        self, chunk_bytes: int | None = None, as_text: tuple[str, ...] = ()
    ) -> Iterator[SourceChunk]:
        """The source's rows in order, a chunk at a time. `as_text` names CSV columns to read
        as text in every chunk (for columns whose inferred type changes between chunks)."""
        size = chunk_bytes or chunk_bytes_setting()
        if self.kind == "parquet":
            yield from self._parquet_chunks(size)
        else:
            yield from self._csv_chunks(size, as_text)

    # -- Parquet

    def _parquet_chunks(self, chunk_bytes: int) -> Iterator[SourceChunk]:
        import pyarrow.parquet as pq

        digest = hashlib.sha256()
        with open(self.file, "rb") as handle:
            for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
                digest.update(block)
        if not _has_content(self.file):
            raise _empty(self.file)
        try:
            parquet = pq.ParquetFile(self.file)
        except Exception as exc:
            raise FactoryError(
                "source_format",
                f"{self.file}: not a readable Parquet file: {exc}",
                hint="Re-export the file, or give a CSV.",
                details={"file": self.path},
            ) from None
        meta = parquet.metadata
        if meta.num_rows == 0:
            raise FactoryError(
                "source_empty",
                f"{self.file}: the Parquet file has no rows",
                details={"file": self.path},
            )
        widest = 0
        for number in range(meta.num_row_groups):
            group = meta.row_group(number)
            widest = max(widest, group.total_byte_size)
            if group.total_byte_size > MAX_ROW_GROUP_BYTES:
                raise FactoryError(
                    "source_too_large",
                    f"{self.file}: row group {number} holds {group.total_byte_size / 2**20:.0f} "
                    f"MiB uncompressed, more than the {MAX_ROW_GROUP_BYTES // 2**20} MiB factory "
                    "reads at once",
                    hint="Rewrite the file with smaller row groups, e.g. pyarrow's "
                    "`pq.write_table(table, path, row_group_size=1_000_000)`, or give a CSV.",
                    details={
                        "file": self.path,
                        "row_group": number,
                        "bytes": group.total_byte_size,
                        "limit": MAX_ROW_GROUP_BYTES,
                    },
                )
        total = max(1, sum(meta.row_group(n).total_byte_size for n in range(meta.num_row_groups)))
        batch_rows = max(1024, int(chunk_bytes * meta.num_rows / total))
        start = 0
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows):
                frame = _batch_frame(batch, parquet.schema_arrow)
                frame.index = pd_range(start, len(frame))
                yield SourceChunk(frame, start)
                start += len(frame)
        except FactoryError:
            raise
        except Exception as exc:
            raise FactoryError(
                "source_format",
                f"{self.file}: not a readable Parquet file: {exc}",
                hint="Re-export the file, or give a CSV.",
                details={"file": self.path},
            ) from None
        self.rows = start
        self.sha256 = digest.hexdigest()

    # -- CSV

    def _csv_chunks(self, chunk_bytes: int, as_text: tuple[str, ...]) -> Iterator[SourceChunk]:
        """The CSV's records in chunks. Blocks without quotes or lone carriage returns
        (most exports) are split into lines and counted with numpy; from the first block
        that has either, Python's csv reader takes over, which follows quoted line breaks.
        Both give the same records, line numbers and faults."""
        import numpy as np

        delimiter = "\t" if self.file.suffix.lower() == ".tsv" else ","
        digest = hashlib.sha256()
        blocks = self._decoded_blocks(digest)
        state = _CsvState(delimiter=delimiter)
        for block in blocks:
            if not _plain(block):
                rest = itertools.chain([block], blocks)
                yield from self._reader_chunks(rest, state, chunk_bytes, as_text, np)
                break
            yield from self._plain_chunks(block, state, chunk_bytes, as_text, np)
        else:
            if state.header_text is None:
                raise self._no_header()
        yield from self._finish_csv(state, as_text, np)
        self.sha256 = digest.hexdigest()

    def _no_header(self) -> FactoryError:
        return FactoryError(
            "source_empty",
            f"{self.file}: the file has no header line",
            hint="A CSV source needs a header row naming its columns.",
            details={"file": self.path},
        )

    def _set_header(self, state: _CsvState, header: list[str], text: str) -> None:
        if not header or all(not h.strip() for h in header):
            raise self._no_header()
        state.header_text = text
        state.width = len(header)

    def _plain_chunks(
        self, block: str, state: _CsvState, chunk_bytes: int, as_text: tuple[str, ...], np: Any
    ) -> Iterator[SourceChunk]:
        """The records of a block that has no quotes: one per non-blank line."""
        if state.header_text is None:
            cut = block.find("\n") + 1 or len(block)
            head, block = block[:cut], block[cut:]
            state.lines += 1
            header = next(csv.reader([head.rstrip("\r\n")], delimiter=state.delimiter), [])
            self._set_header(state, header, head if head.endswith("\n") else head + "\n")
        if not block:
            return
        encoded = block.encode("utf-8")
        if not encoded.endswith(b"\n"):
            encoded += b"\n"
        raw = np.frombuffer(encoded, dtype=np.uint8)
        breaks = np.flatnonzero(raw == 10)
        starts = np.concatenate(([0], breaks[:-1] + 1))
        length = breaks - starts
        has_cr = length > 0
        has_cr[has_cr] = raw[breaks[has_cr] - 1] == 13
        blank = (length - has_cr) == 0
        seps = np.concatenate(([0], np.cumsum(raw == ord(state.delimiter))))
        fields = seps[breaks] - seps[starts] + 1
        numbers = state.lines + 1 + np.arange(len(breaks))
        state.lines += len(breaks)
        if state.ragged or bool(((fields != state.width) & ~blank).any()):
            bad = np.flatnonzero((fields != state.width) & ~blank)
            room = MAX_REPORTED - len(state.ragged)
            for i in bad[: max(room, 0)]:
                state.ragged.append(
                    {"line": int(numbers[i]), "fields": int(fields[i]), "expected": state.width}
                )
            return  # the file is refused: only the next ragged lines (and encoding) matter
        keep = ~blank
        ends = numbers[keep]
        rows_end = breaks[keep] + 1  # byte offset after each record
        data = memoryview(encoded)
        offset = 0
        while len(ends):
            room = chunk_bytes - state.body_chars
            take = int(np.searchsorted(rows_end - offset, room, side="left")) + 1
            take = min(take, len(ends))
            stop = int(rows_end[take - 1])
            piece = bytes(data[offset:stop]).decode("utf-8")
            state.body.append(piece)
            state.body_chars += len(piece)
            state.ends.extend(ends[:take].tolist())
            ends, rows_end, offset = ends[take:], rows_end[take:], stop
            if state.body_chars >= chunk_bytes:
                yield self._flush(state, as_text, np)

    def _flush(self, state: _CsvState, as_text: tuple[str, ...], np: Any) -> SourceChunk:
        assert state.header_text is not None
        chunk = self._parse(
            state.header_text, state.body, state.ends, state.start, state.delimiter, as_text, np
        )
        state.start += len(state.ends)
        state.body, state.ends, state.body_chars = [], [], 0
        return chunk

    def _reader_chunks(
        self,
        blocks: Iterator[str],
        state: _CsvState,
        chunk_bytes: int,
        as_text: tuple[str, ...],
        np: Any,
    ) -> Iterator[SourceChunk]:
        """Python's csv reader over the rest of the file (quoted fields may hold line
        breaks), line numbers counted on from `state.lines`."""
        pending: list[str] = []
        """The text lines the csv reader consumed since the last record (or chunk) ended."""

        def text_lines() -> Iterator[str]:
            for text in blocks:
                for line in io.StringIO(text, newline=""):
                    pending.append(line)
                    yield line

        lines_iter = text_lines()
        reader = csv.reader(lines_iter, delimiter=state.delimiter)
        base = state.lines
        if state.header_text is None:
            try:
                header = next(reader)
            except StopIteration:
                header = []
            except csv.Error as exc:
                raise _malformed(self.file, base + reader.line_num, exc) from None
            self._set_header(state, header, "".join(pending))
            pending.clear()
        try:
            for record in reader:
                if len(state.ragged) >= MAX_REPORTED:
                    break
                if not record:  # a blank line: pandas skips it too
                    pending.clear()
                    continue
                if len(record) != state.width:
                    state.ragged.append(
                        {
                            "line": base + reader.line_num,
                            "fields": len(record),
                            "expected": state.width,
                        }
                    )
                    pending.clear()
                    continue
                if state.ragged:
                    pending.clear()
                    continue  # the file is refused: only the next ragged lines matter
                state.ends.append(base + reader.line_num)
                state.body.append(text := "".join(pending))
                state.body_chars += len(text)
                pending.clear()
                if state.body_chars >= chunk_bytes:
                    yield self._flush(state, as_text, np)
        except csv.Error as exc:
            raise _malformed(self.file, base + reader.line_num, exc) from None
        for _ in lines_iter:  # after the last ragged line reported: still check the encoding
            pending.clear()

    def _finish_csv(
        self, state: _CsvState, as_text: tuple[str, ...], np: Any
    ) -> Iterator[SourceChunk]:
        if state.ragged:
            first = state.ragged[0]
            raise FactoryError(
                "source_ragged",
                f"{self.file}: line {first['line']} has {first['fields']} fields, "
                f"the header has {state.width}"
                + (f" ({len(state.ragged)} such lines or more)" if len(state.ragged) > 1 else ""),
                hint="Every row needs one value per header column; fix or remove those lines.",
                details={
                    "file": self.path,
                    "ragged_lines": state.ragged,
                    "header_fields": state.width,
                },
            )
        if state.ends:
            yield self._flush(state, as_text, np)
        if state.start == 0:
            raise FactoryError(
                "source_empty",
                f"{self.file}: the file has a header but no data rows",
                hint="Add rows, or point the dataset at the right file.",
                details={"file": self.path},
            )
        self.rows = state.start

    def _parse(
        self,
        header_text: str,
        body: list[str],
        ends: list[int],
        start: int,
        delimiter: str,
        as_text: tuple[str, ...],
        np: Any,
    ) -> SourceChunk:
        import pandas as pd

        text = header_text + "".join(body)
        body.clear()
        dtype = dict.fromkeys(as_text, str) if as_text else None
        try:
            frame = pd.read_csv(
                io.StringIO(text), sep=delimiter, skip_blank_lines=True, dtype=dtype
            )
        except (pd.errors.ParserError, ValueError) as exc:
            raise FactoryError(
                "source_format",
                f"{self.file}: could not parse CSV: {exc}",
                details={"file": self.path},
            ) from None
        del text
        lines = np.asarray(ends, dtype=np.int64) if len(frame) == len(ends) else None
        frame.index = pd_range(start, len(frame))
        return SourceChunk(frame, start, lines)

    def _decoded_blocks(self, digest: Any) -> Iterator[str]:
        """The file's text in blocks that end at a line break, each checked to be UTF-8
        (the error names the line and column, as `_decode` does)."""
        if not _has_content(self.file):
            raise _empty(self.file)
        offset = 0
        newlines = 0
        carry = b""
        first = True
        with open(self.file, "rb") as handle:
            while True:
                block = handle.read(BLOCK_BYTES)
                digest.update(block)
                data = carry + block
                if not data:
                    break
                if block:
                    cut = data.rfind(b"\n") + 1
                    if cut == 0:  # old Mac line ends, or a very long line
                        cut = data.rfind(b"\r", 0, len(data) - 1) + 1
                    if cut == 0:
                        if len(data) > MAX_LINE_BYTES:
                            raise self._line_too_long(newlines + 1)
                        carry = data
                        continue
                else:
                    cut = len(data)
                piece, carry = data[:cut], data[cut:]
                skip = 3 if first and piece.startswith(b"\xef\xbb\xbf") else 0
                first = False
                try:
                    text = piece[skip:].decode("utf-8")
                except UnicodeDecodeError as exc:
                    at = exc.start + skip
                    line = newlines + piece.count(b"\n", 0, at) + 1
                    column = at - (piece.rfind(b"\n", 0, at) + 1) + 1
                    raise FactoryError(
                        "source_encoding",
                        f"{self.file}:{line}: not UTF-8 text: byte 0x{piece[at]:02x} at line "
                        f"{line}, column {column} (file offset {offset + at})",
                        hint="Re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 in.csv > "
                        "out.csv`).",
                        details={
                            "file": self.path,
                            "line": line,
                            "column": column,
                            "offset": offset + at,
                        },
                    ) from None
                offset += len(piece)
                newlines += piece.count(b"\n")
                yield text
                if not block:
                    break

    def _line_too_long(self, line: int) -> FactoryError:
        return FactoryError(
            "source_too_large",
            f"{self.file}:{line}: line {line} is longer than {MAX_LINE_BYTES // 2**20} MiB, more "
            "than factory holds in memory for one line",
            hint="Is this a CSV with line breaks? Split the long lines, or convert the file "
            "to Parquet with row groups of a few hundred MiB.",
            details={"file": self.path, "line": line, "limit": MAX_LINE_BYTES},
        )


def _check_path(path: Path, source: str) -> None:
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


def _empty(path: Path) -> FactoryError:
    return FactoryError(
        "source_empty",
        f"{path}: the file is empty",
        hint="Point the dataset at a file with a header and rows.",
        details={"file": str(path)},
    )


def _has_content(path: Path) -> bool:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
            if block.strip():
                return True
    return False


def _malformed(path: Path, line: int, exc: Exception) -> FactoryError:
    return FactoryError(
        "source_ragged",
        f"{path}:{line}: malformed CSV: {exc}",
        hint="Check the quoting on that line.",
        details={"file": str(path), "line": line},
    )


def _batch_frame(batch: Any, schema: Any) -> pd.DataFrame:
    """A Parquet record batch as pandas would read the whole file (its pandas metadata
    applied), with the stored index dropped."""
    import pyarrow as pa

    table = pa.Table.from_batches([batch]).replace_schema_metadata(schema.metadata)
    frame: pd.DataFrame = table.to_pandas().reset_index(drop=True)
    return frame


def pd_range(start: int, length: int) -> Any:
    import pandas as pd

    return pd.RangeIndex(start, start + length)
