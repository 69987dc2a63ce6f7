"""The JSON shape is a promise (adrs/0003): every `schema` name has a JSON Schema in
docs/schemas, generated from the result types (core.cli.schemas), and every real answer
validates against it.

The real answers are tests/render/samples (one `--json` envelope per schema, from real
commands on a `factory demo` workspace). Each is checked twice: against the published
document (open to added keys), and against the strict one (`additionalProperties: false` on
every typed object), which proves that the types name every key the JSON holds."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from core.cli import schemas
from core.render.envelope import ENVELOPE

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "render" / "samples"
COMMANDS = ROOT / "core" / "cli" / "commands"

STORED = "the stored verdict file adds `schema` (and a gate its hashed `inputs`) to the command's answer, which the type describes"
NOT_YET_STRICT: dict[str, str] = {
    "show-drift": STORED,
    "show-gate": STORED,
    "show-newdata": STORED,
    "serve.check-1": "ServeCheckResult.to_dict adds `failed`, which the type does not name yet "
    "(a `JSON_PROPERTIES` property would)",
}
"""Sample -> why its type does not yet name every key (the published document still
validates). A listed sample that becomes strict fails the test, so the list only shrinks."""


NO_SAMPLE_YET = {
    "factory.job/1", "factory.jobs/1", "factory.perf/1", "factory.rollout-plan/1",
    "factory.rollout/1", "factory.rollouts/1", "factory.serve.check/1", "factory.serve/1",
}  # fmt: skip
"""Schemas of commands still being built, which tests/render/make_samples does not run yet:
their answers are not checked here until it does (tests/render fails on them meanwhile)."""


def samples() -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SAMPLES.glob("*.json"))
    }


SAMPLE_DOCS = samples()


def declared() -> set[str]:
    """Every schema a command answers with: its own, a `Reply(schema=...)`, and the names the
    command modules spell out (`"factory.x/1" if ...`)."""
    from core.cli.catalog import commands

    found = {c.schema for c in commands().values()}
    for path in COMMANDS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'schema="(factory\.[\w.-]+/\d+)"', source))
        found |= set(re.findall(r'"(factory\.[\w.-]+/\d+)" if ', source))
    return found


def errors(document: dict[str, Any], value: Any) -> list[str]:
    """Every error, as `path: message`; inside an `anyOf` (a nullable object), the errors of
    each branch too."""
    validator = Draft202012Validator(document)

    def said(error: ValidationError) -> list[str]:
        here = f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message[:300]}"
        return [here, *(line for inner in error.context or [] for line in said(inner))]

    found = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    return [line for error in found for line in said(error)]


def test_docs_schemas_are_the_generator_output() -> None:
    """`python -m core.cli.schemas` was run after the last change of a result type."""
    expected = schemas.generate()
    folder = schemas.SCHEMAS_DIR
    written = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.json")}
    assert sorted(written) == sorted(expected), "run `python -m core.cli.schemas`"
    stale = [name for name, text in expected.items() if written[name] != text]
    assert not stale, f"docs/schemas out of date ({stale}): run `python -m core.cli.schemas`"


def test_every_document_is_valid_json_schema() -> None:
    for name in [*schemas.names(), ENVELOPE]:
        for strict in (False, True):
            document = (
                schemas.envelope_document(strict=strict)
                if name == ENVELOPE
                else schemas.document(name, strict=strict)
            )
            Draft202012Validator.check_schema(document)


def test_every_declared_schema_has_a_shape() -> None:
    missing = sorted(declared() - set(schemas.names()))
    assert not missing, f"schemas with no type in core/cli/shapes.py SHAPES: {missing}"


def test_every_declared_schema_has_a_real_answer_to_check() -> None:
    sampled = {doc["schema"] for doc in SAMPLE_DOCS.values()}
    missing = sorted(set(schemas.names()) - sampled - NO_SAMPLE_YET - {"factory.mcp/1"})
    assert not missing, f"no sample in tests/render/samples for {missing}: make_samples"


@pytest.mark.parametrize("name", list(SAMPLE_DOCS))
def test_a_real_answer_validates(name: str) -> None:
    doc = SAMPLE_DOCS[name]
    assert not errors(schemas.envelope_document(strict=True), doc)
    schema = doc["schema"]
    assert schema in schemas.names(), f"{name}: {schema} has no shape"
    assert not errors(schemas.document(schema), doc["data"]), name
    found = errors(schemas.document(schema, strict=True), doc["data"])
    if name in NOT_YET_STRICT:
        assert found, f"{name} is strict now: remove it from NOT_YET_STRICT"
    else:
        assert not found, f"{name}: the type of {schema} does not name every key:\n" + "\n".join(
            found[:10]
        )


def test_strict_refuses_a_key_the_type_does_not_name_and_published_allows_it() -> None:
    """The strict check bites: one unknown key deep inside a real answer fails it, while the
    published document lets it through (readers ignore keys they do not know)."""
    doc = copy.deepcopy(SAMPLE_DOCS["status-2"]["data"])
    doc["models"][0]["best_run"]["primary_metric"]["surprise"] = 1
    assert not errors(schemas.document("factory.status/2"), doc)
    found = errors(schemas.document("factory.status/2", strict=True), doc)
    assert any(
        line.startswith("models/0/best_run/primary_metric:") and "'surprise'" in line
        for line in found
    ), found


def test_a_renamed_key_fails_the_schema() -> None:
    """The old vocabulary (`runs` for the count, `primary` for the metric) is refused."""
    status = copy.deepcopy(SAMPLE_DOCS["status-2"]["data"])
    status["models"][0]["runs"] = status["models"][0].pop("run_count")
    assert errors(schemas.document("factory.status/2"), status)
    runs = copy.deepcopy(SAMPLE_DOCS["runs-2"]["data"])
    runs["runs"][0]["primary"] = runs["runs"][0].pop("primary_metric")
    assert errors(schemas.document("factory.runs/2"), runs)


def test_the_primary_metric_has_one_shape_everywhere() -> None:
    """`primary_metric` names the same definition in every document that holds it."""
    shapes = set()
    for name in schemas.names():
        found = json.dumps(schemas.document(name))
        if '"primary_metric"' not in found:
            continue
        document = schemas.document(name)
        definition = document.get("$defs", {}).get("PrimaryMetricData")
        if definition is not None:
            shapes.add(json.dumps(definition, sort_keys=True))
    assert len(shapes) == 1, shapes
    (only,) = shapes
    assert set(json.loads(only)["required"]) == {
        "name", "direction", "mean", "std", "min", "max", "n", "of"
    }  # fmt: skip
