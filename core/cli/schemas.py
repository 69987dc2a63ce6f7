"""JSON Schema (draft 2020-12) of every `schema` name, generated from the result types.

`python -m core.cli.schemas` writes `docs/schemas/<name>.json` (`factory.status/2` ->
`factory.status-2.json`): one document per shape of a command's `data`, plus the envelope's
own (`factory.envelope-N.json`). Each is built from the Python type that produces the data
(`SHAPES`): a dataclass by its fields and type hints, unless its `to_dict` is annotated with a
`TypedDict`, which then is the shape; a `TypedDict` by its keys. A dataclass field with
`metadata={"json": False}` is left out (it goes to the envelope, like `next`), one with
`metadata={"required": False}` may be absent, and the properties a class names in
`JSON_PROPERTIES` are keys too (computed ones its `to_dict` writes). Attribute docstrings become
descriptions. A `dict[str, Any]` or `Any` is left open (`{}`) and listed under `open` in
`python -m core.cli.schemas --open`, so an imprecise type is a visible choice, not an accident.

The published documents keep objects open to new keys (adrs/0003: keys are added, readers
ignore what they do not know); `document(name, strict=True)` closes every typed object
(`additionalProperties: false`), which tests/schemas uses to prove that a type names every
key its `to_dict` writes. `tests/schemas` fails when docs/schemas differs from this module's
output, when a command's `schema` has no shape here, and when a real answer does not validate.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import itertools
import json
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path, PurePath
from typing import Any, Literal, get_args, get_origin, is_typeddict

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def file_name(name: str) -> str:
    """`factory.status/2` -> `factory.status-2.json`."""
    return name.replace("/", "-") + ".json"


# ------------------------------------------------------------------------------ the shapes


@cache
def shapes() -> dict[str, Any]:
    """Schema name -> the type of its `data` (imported here, not on every call of `factory`).

    A command's `schema` (core.cli.catalog) and every other shape a command may answer with
    (`Reply(schema=...)`, e.g. `show --full` -> `factory.report/3`) must be listed: the tests
    fail otherwise."""
    from core.cli import shapes as table

    return table.SHAPES()


# ------------------------------------------------------------------------------ descriptions


@cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> the string literal right under its annotation in the class body."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source)
    body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef)), [])
    found: dict[str, str] = {}
    for here, after in itertools.pairwise(body):
        if (
            isinstance(here, ast.AnnAssign)
            and isinstance(here.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[here.target.id] = inspect.cleandoc(after.value.value)
    return found


def _class_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "(")):
        return None
    return inspect.cleandoc(doc)


# ------------------------------------------------------------------------------ types -> schema


def _hints(obj: Any) -> dict[str, Any]:
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    spaces: dict[str, Any] = dict(vars(module)) if module else {}
    try:
        return typing.get_type_hints(obj, globalns=spaces, include_extras=True)
    except NameError as exc:  # a name imported only under TYPE_CHECKING
        raise TypeError(
            f"{getattr(obj, '__qualname__', obj)}: a type hint names {exc.name!r}, which its "
            "module does not import at run time; import it (or describe the shape with a "
            "TypedDict) so the JSON Schema can be generated"
        ) from None


def data_type(tp: Any) -> Any:
    """The type whose shape is the JSON of `tp`: its `to_dict`'s TypedDict when it has one."""
    to_dict = getattr(tp, "to_dict", None)
    if isinstance(tp, type) and callable(to_dict) and not is_typeddict(tp):
        returned = _hints(to_dict).get("return")
        if returned is not None and is_typeddict(returned):
            return returned
    return tp


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str) and set(schema) <= {"type", "description", "format", "items"}:
        return {**schema, "type": [kind, "null"]}
    if "enum" in schema and None not in schema["enum"]:
        return {**schema, "enum": [*schema["enum"], None]}
    return {"anyOf": [schema, {"type": "null"}]}


class Builder:
    """Turns types into JSON Schema, collecting named objects under `$defs`."""

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[Any, str] = {}
        self.open: list[str] = []
        """Paths of values left open (`Any`, `dict[str, Any]`), for `--open`."""

    def of(self, tp: Any, where: str) -> dict[str, Any]:
        origin, args = get_origin(tp), get_args(tp)
        if origin is typing.Annotated:
            return self.of(args[0], where)
        if origin in (typing.NotRequired, typing.Required):
            return self.of(args[0], where)
        if tp is Any or tp is object:
            self.open.append(where)
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if isinstance(tp, type) and issubclass(tp, PurePath):
            return {"type": "string"}
        if tp is datetime:
            return {"type": "string", "format": "date-time"}
        if tp is date:
            return {"type": "string", "format": "date"}
        if origin is Literal:
            return {"enum": list(args)} if len(args) > 1 else {"const": args[0]}
        if origin in (typing.Union, types.UnionType):
            real = [a for a in args if a is not type(None)]
            one = self.of(real[0], where) if len(real) == 1 else self._any_of(real, where)
            return _nullable(one) if len(real) < len(args) else one
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if origin in (list, set, frozenset, Sequence) or tp in (list, set, frozenset):
            item = args[0] if args else Any
            return {"type": "array", "items": self.of(item, where + "[]")}
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.of(args[0], where + "[]")}
            return {
                "type": "array",
                "prefixItems": [self.of(a, f"{where}[{i}]") for i, a in enumerate(args)],
                "minItems": len(args),
                "maxItems": len(args),
            }
        if origin in (dict, Mapping) or tp is dict:
            value = args[1] if len(args) == 2 else Any
            inner = self.of(value, where + ".*")
            return (
                {"type": "object", "additionalProperties": inner} if inner else ({"type": "object"})
            )
        if isinstance(tp, type) and (is_typeddict(tp) or dataclasses.is_dataclass(tp)):
            return self._object(tp, where)
        if isinstance(tp, type) and hasattr(tp, "to_dict") and data_type(tp) is not tp:
            return self.of(data_type(tp), where)
        raise TypeError(f"{where}: no JSON Schema for the type {tp!r}")

    def _any_of(self, options: list[Any], where: str) -> dict[str, Any]:
        found = [self.of(o, where) for o in options]
        if any(not f for f in found):
            return {}
        simple = [f["type"] for f in found if set(f) == {"type"} and isinstance(f["type"], str)]
        if len(simple) == len(found):
            return {"type": simple}
        return {"anyOf": found}

    def _object(self, tp: type, where: str) -> dict[str, Any]:
        shape = data_type(tp)
        if shape in self.names:
            return {"$ref": f"#/$defs/{self.names[shape]}"}
        name = shape.__name__
        if name in self.defs or name in self.names.values():
            name = f"{shape.__module__.rsplit('.', 1)[-1]}.{name}"
        self.names[shape] = name
        self.defs[name] = {}  # placeholder: a recursive type refers to itself
        self.defs[name] = self._properties(shape, where)
        return {"$ref": f"#/$defs/{name}"}

    def _properties(self, shape: type, where: str) -> dict[str, Any]:
        docs: dict[str, str] = {}
        for base in reversed(shape.__mro__):
            docs.update(_attribute_docs(base))
        hints = _hints(shape)
        if is_typeddict(shape):
            names = list(hints)
            total = bool(getattr(shape, "__total__", True))
            required = [n for n in names if _required(hints[n], total=total)]
        else:
            kept = [f for f in dataclasses.fields(shape) if not _hidden(f)]
            names = [f.name for f in kept]
            required = [f.name for f in kept if f.metadata.get("required") is not False]
            for name in getattr(shape, "JSON_PROPERTIES", ()):
                hints[name], doc = _computed(shape, name)
                if doc:
                    docs[name] = doc
                names.append(name)
                required.append(name)
        properties: dict[str, Any] = {}
        for key in names:
            schema = self.of(hints[key], f"{where}.{key}")
            if key in docs:
                schema = {**schema, "description": docs[key]}
            properties[key] = schema
        out: dict[str, Any] = {"type": "object"}
        description = _class_doc(shape)
        if description:
            out["description"] = description
        out["properties"] = properties
        out["required"] = required
        if self.strict:
            out["additionalProperties"] = False
        return out


def _computed(shape: type, name: str) -> tuple[Any, str | None]:
    """(the type, the docstring) of a property a dataclass's `to_dict` also writes, listed in
    its `JSON_PROPERTIES` (e.g. `InitResult.changed`)."""
    prop = inspect.getattr_static(shape, name, None)
    if not isinstance(prop, property) or prop.fget is None:
        raise TypeError(f"{shape.__qualname__}.JSON_PROPERTIES names {name!r}, not a property")
    returned = _hints(prop.fget).get("return")
    if returned is None:
        raise TypeError(f"{shape.__qualname__}.{name}: annotate what the property returns")
    return returned, inspect.cleandoc(prop.__doc__) if prop.__doc__ else None


def _required(hint: Any, *, total: bool) -> bool:
    """Whether a TypedDict key is required. Read from the resolved hint: under
    `from __future__ import annotations` Python 3.11 cannot see `NotRequired` itself."""
    origin = get_origin(hint)
    if origin is typing.NotRequired:
        return False
    if origin is typing.Required:
        return True
    return total


def _hidden(f: dataclasses.Field[Any]) -> bool:
    """A field the JSON leaves out (`field(metadata={"json": False})`): e.g. `next`, which
    goes to the envelope, not into `data`."""
    return f.metadata.get("json") is False


# ------------------------------------------------------------------------------ documents


def document(name: str, *, strict: bool = False) -> dict[str, Any]:
    """The JSON Schema of `data` for the schema name `name`."""
    table = shapes()
    if name not in table:
        raise KeyError(f"{name}: no result type in core.cli.shapes.SHAPES")
    builder = Builder(strict=strict)
    root = builder.of(table[name], "data")
    return _wrap(name, root, builder, f"The `data` of a `{name}` envelope.")


def _wrap(name: str, root: dict[str, Any], builder: Builder, title: str) -> dict[str, Any]:
    out: dict[str, Any] = {"$schema": DRAFT, "$id": file_name(name), "title": name}
    ref = root.get("$ref", "")
    if ref.startswith("#/$defs/") and set(root) == {"$ref"}:
        body = builder.defs.pop(ref.removeprefix("#/$defs/"))
        if isinstance(body, dict):
            out.update(body)
    else:
        out.update(root)
    out["description"] = title + (f" {out['description']}" if out.get("description") else "")
    if builder.defs:
        out["$defs"] = dict(sorted(builder.defs.items()))
    return out


def envelope_document(*, strict: bool = False) -> dict[str, Any]:
    """The envelope every `--json` answer is (core.render.envelope), `data` left to the
    document its `schema` names."""
    from core.cli.shapes import envelope_type
    from core.render.envelope import ENVELOPE

    builder = Builder(strict=strict)
    root = builder.of(envelope_type(), "envelope")
    return _wrap(
        ENVELOPE,
        root,
        builder,
        "The one JSON document `factory ... --json` prints; `data` follows the document "
        "named by `schema` (docs/schemas/<schema with / as ->.json).",
    )


def names() -> list[str]:
    return sorted(shapes())


def generate() -> dict[str, str]:
    """File name -> text, for every schema name and the envelope."""
    from core.render.envelope import ENVELOPE

    out = {file_name(ENVELOPE): _text(envelope_document())}
    for name in names():
        out[file_name(name)] = _text(document(name))
    return dict(sorted(out.items()))


def _text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def open_paths() -> Iterator[tuple[str, str]]:
    """(schema name, path) of every value its type leaves open."""
    for name in names():
        builder = Builder(strict=False)
        builder.of(shapes()[name], "data")
        for where in sorted(set(builder.open)):
            yield name, where


def write(folder: Path = SCHEMAS_DIR) -> list[str]:
    """Write every document into `folder` and remove the ones no schema names any more;
    returns the files written."""
    from core.foundation.atomic import write_text

    folder.mkdir(parents=True, exist_ok=True)
    docs = generate()
    for stale in folder.glob("*.json"):
        if stale.name not in docs:
            stale.unlink()
    for file, text in docs.items():
        target = folder / file
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            write_text(target, text)
    return list(docs)


def main(argv: Sequence[str] | None = None, out: Callable[[str], Any] = print) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--open"]:
        for name, where in open_paths():
            out(f"{name}\t{where}")
        return 0
    if args:
        out("usage: python -m core.cli.schemas [--open]  (writes docs/schemas/)")
        return 2
    written = write()
    out(f"wrote {len(written)} schemas to {SCHEMAS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
