"""Which type each `schema` name's `data` is: the table `core.cli.schemas` builds JSON Schema
from. One line per shape; a new command adds its schema here (tests/schemas fails naming a
command whose `schema` is missing)."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from core.operations.feedback.join import JoinResult


class FaceClosed(TypedDict):
    """`factory tui`: the dashboard was closed."""

    closed: bool


class McpClosed(TypedDict):
    """`factory mcp`: the client closed the stream."""

    closed: bool
    calls: int
    """Tool calls served."""


class NextItem(TypedDict):
    """One suggested command (`core.foundation.suggest.Next`)."""

    command: str
    reason: str
    priority: Literal["high", "normal", "low"]


class ErrorData(TypedDict):
    """`core.foundation.errors.FactoryError.to_dict`."""

    code: str
    """A stable identifier (docs/errors.md)."""
    message: str
    hint: str | None
    details: dict[str, Any]


class Envelope(TypedDict):
    """`core.render.envelope.success` / `failure`."""

    envelope: str
    """The envelope's own shape, e.g. `factory.envelope/2`."""
    ok: bool
    command: str | None
    schema: str | None
    """The shape of `data` (docs/schemas/<schema>.json); None only when the command itself
    could not be told (a usage error before any command name)."""
    data: Any
    """The command's answer (null on failure)."""
    error: ErrorData | None
    next: list[NextItem]


class FeedbackIngested(TypedDict):
    """`factory feedback ingest`: one join per model the outcomes named."""

    models: list[JoinResult]
    """Each model's `factory feedback join` answer."""
    joined: int
    already: int


def SHAPES() -> dict[str, Any]:
    """Schema name -> result type (a dataclass, or the TypedDict its `to_dict` returns)."""
    from core.cli.commands.records import CardList
    from core.cli.jobs import Job, JobList
    from core.data.manifests import ManifestData, SnapshotList
    from core.data.snapshots import SnapshotResult
    from core.data.validation import ValidationReport
    from core.experiments.leaks import PitRecord
    from core.experiments.pit import FeatureCheck
    from core.experiments.queries import (
        ComponentsResult,
        CurvesData,
        CurvesSummaryData,
        RunsResult,
        RunSummaryView,
    )
    from core.experiments.report import RunReport
    from core.experiments.training.run import TrainResult
    from core.flows.demo import DemoResult
    from core.foundation.workspace_init import InitResult
    from core.insights.effects import EffectsResult
    from core.insights.why import WhyResult
    from core.lens.compaction.compact import CompactResult
    from core.lens.export import DdlResult, ExportResult
    from core.lens.store import QueryResult, TablesResult
    from core.operations.alerts import Alert, AlertList
    from core.operations.drift import DriftResult
    from core.operations.feedback.degrading import DegradingResult
    from core.operations.feedback.live import LiveResult
    from core.operations.gates import GateResult
    from core.operations.newdata import NewDataResult
    from core.operations.perf import PerfResult
    from core.operations.predict import PredictResult, TraceResult
    from core.operations.rebuild import RebuildResult
    from core.operations.remote import RemoteResult
    from core.operations.rollouts.actions import RolloutList, RolloutView
    from core.operations.rollouts.plan import RolloutPlan
    from core.operations.sunset.candidates import CandidatesResult
    from core.operations.sunset.removal import RemovalList
    from core.operations.sunset.retire import RetireResult
    from core.operations.tier_state import TiersResult
    from core.operations.tiers import TierChange
    from core.overview.history import HistoryResult
    from core.overview.status import StatusResult
    from core.records.adrs import AdrDetail, AdrList, Superseded
    from core.records.card import Card, Note, Plan
    from core.records.migration import Migrations
    from core.serve.check import ServeCheckResult
    from core.serve.run import ServeResult
    from core.verdicts.compare import CompareResult

    return {
        "factory.adr/2": AdrDetail,
        "factory.adr.list/2": AdrList,
        "factory.adr.supersede/2": Superseded,
        "factory.alerts/1": AlertList,
        "factory.alerts.ack/1": Alert,
        "factory.card/1": Card,
        "factory.cards/1": CardList,
        "factory.check.degrading/1": DegradingResult,
        "factory.check.features/2": FeatureCheck,
        "factory.check.new_data/2": NewDataResult,
        "factory.compact/1": CompactResult,
        "factory.compare/3": CompareResult,
        "factory.components/1": ComponentsResult,
        "factory.curves/1": CurvesData,
        "factory.curves.summary/1": CurvesSummaryData,
        "factory.data.list/2": SnapshotList,
        "factory.data.show/2": ManifestData,
        "factory.data.snapshot/2": SnapshotResult,
        "factory.export.ddl/1": DdlResult,
        "factory.export.tables/1": ExportResult,
        "factory.demo/2": DemoResult,
        "factory.drift/2": DriftResult,
        "factory.effects/2": EffectsResult,
        "factory.feedback.ingest/1": FeedbackIngested,
        "factory.feedback.join/1": JoinResult,
        "factory.gate/2": GateResult,
        "factory.history/1": HistoryResult,
        "factory.init/1": InitResult,
        "factory.job/1": Job,
        "factory.jobs/1": JobList,
        "factory.mcp/1": McpClosed,
        "factory.live/1": LiveResult,
        "factory.migrate.cards/1": Migrations,
        "factory.note/1": Note,
        "factory.perf/1": PerfResult,
        "factory.pit/1": PitRecord,
        "factory.plan/1": Plan,
        "factory.predict/1": PredictResult,
        "factory.promote/2": TierChange,
        # `query SQL` answers rows, `query --tables` the views: one schema, either shape.
        "factory.query/1": QueryResult | TablesResult,
        "factory.rebuild/1": RebuildResult,
        "factory.remote/1": RemoteResult,
        "factory.report/3": RunReport,
        "factory.rollback/2": TierChange,
        "factory.rollout/1": RolloutView,
        "factory.rollout-plan/1": RolloutPlan,
        "factory.rollouts/1": RolloutList,
        "factory.runs/2": RunsResult,
        "factory.serve/1": ServeResult,
        "factory.serve.check/1": ServeCheckResult,
        "factory.show/3": RunSummaryView,
        "factory.status/2": StatusResult,
        "factory.sunset.candidates/1": CandidatesResult,
        "factory.sunset.removal_list/1": RemovalList,
        "factory.sunset.retire/1": RetireResult,
        "factory.tiers/1": TiersResult,
        "factory.trace/1": TraceResult,
        "factory.train/3": TrainResult,
        "factory.tui/1": FaceClosed,
        "factory.validate/1": ValidationReport,
        "factory.why/2": WhyResult,
    }


def envelope_type() -> Any:
    return Envelope
