"""What a rollout's analyses consume: its requests, per arm, read from the inference log.

The log (v2, adrs/0015 amended) has one line per request under
`logs/inference/date=YYYY-MM-DD/*.jsonl`, with `ts`, `model`, `mode` (batch, online,
shadow), `arm`, `rollout_id`, `latency_ms`, `cpu_ms`, `status`, `error_code`; a line without
a `request_id` is a batch record whose fields hold for the lines after it in the same file.
A rollout reads only lines carrying its id (a byte search skips the others unparsed), in
the date partitions since it started. A torn last line (a writer killed mid-append) is
skipped. Shadow lines are the challenger's (`arm` challenger, `mode` shadow).

`factory serve` logs one line per row, and the rows of one call share the call's latency
(`core.serve.engine`): counting each row would count one measurement many times, so lines of
one arm with the same `call_id` (or, without one, the same time, latency and CPU time) are
one observation. A client's own error (a 4xx) says nothing about either run and is left out;
a request that failed before it was routed carries no rollout id and is not counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.foundation.workspace import Workspace
from core.operations.rollouts.decide import ArmObservations

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from core.foundation.log_archive import LogSource

ARMS = ("stable", "challenger")
OK_STATUSES = frozenset({"ok", "success", "served"})
CLIENT_ERROR = frozenset({"rejected", "bad_request", "client_error", "invalid"})


def is_error(status: Any, error_code: Any) -> bool | None:
    """True: the request failed on the server's side; False: served; None: the client's own
    fault (a 4xx: bad rows), which says nothing about either run and is left out."""
    if isinstance(status, int) and not isinstance(status, bool):
        if 200 <= status < 300:
            return bool(error_code)
        return None if 400 <= status < 500 else True
    text = str(status).strip().lower() if status is not None else ""
    if text.isdigit():
        return is_error(int(text), error_code)
    if text in CLIENT_ERROR:
        return None
    if text in OK_STATUSES or (not text and not error_code):
        return bool(error_code)
    return True


@dataclass(frozen=True)
class ArmLog:
    """One arm's requests, sorted by time, and the per-row losses of those whose outcome
    joined (by the time the request was logged)."""

    ts: npt.NDArray[np.str_]
    latency_ms: npt.NDArray[np.float64]
    cpu_ms: npt.NDArray[np.float64]
    error: npt.NDArray[np.bool_]
    loss_ts: npt.NDArray[np.str_] | None = None
    """None: outcomes were not read (quality off)."""
    loss: npt.NDArray[np.float64] | None = None

    @classmethod
    def build(
        cls,
        ts: list[str],
        latency_ms: list[float],
        cpu_ms: list[float],
        error: list[bool],
        losses: list[tuple[str, float]] | None = None,
    ) -> ArmLog:
        import numpy as np

        times = np.asarray(ts, dtype=str)
        order = np.argsort(times, kind="stable")
        loss_ts = loss = None
        if losses is not None:
            ordered = sorted(losses, key=lambda pair: pair[0])
            loss_ts = np.asarray([t for t, _ in ordered], dtype=str)
            loss = np.asarray([v for _, v in ordered], dtype=float)
        return cls(
            times[order], np.asarray(latency_ms, dtype=float)[order],
            np.asarray(cpu_ms, dtype=float)[order], np.asarray(error, dtype=bool)[order],
            loss_ts, loss,
        )  # fmt: skip

    def __len__(self) -> int:
        return int(self.ts.size)

    def slices(self, cutoffs: list[str]) -> list[ArmObservations]:
        """The requests of each look: after the previous cutoff, up to this one (ISO text
        compares as time); with them, the losses of that look's requests joined so far."""
        import numpy as np

        bounds = np.asarray(cutoffs, dtype=str)
        ends = np.searchsorted(self.ts, bounds, side="right")
        loss_ends = (
            np.searchsorted(self.loss_ts, bounds, side="right").tolist()
            if self.loss_ts is not None
            else [None] * len(cutoffs)
        )
        out, start, loss_start = [], 0, 0
        for end, loss_end in zip(ends.tolist(), loss_ends, strict=True):
            end = max(int(end), start)
            loss = None
            if self.loss is not None and loss_end is not None:
                loss_end = max(int(loss_end), loss_start)
                loss = self.loss[loss_start:loss_end]
                loss_start = loss_end
            out.append(
                ArmObservations.of(
                    self.latency_ms[start:end], self.error[start:end], self.cpu_ms[start:end], loss
                )
            )
            start = end
        return out


@dataclass(frozen=True)
class RolloutLog:
    """Every logged request of one rollout, per arm, and what was skipped."""

    stable: ArmLog
    challenger: ArmLog
    files: int
    """Log files that mention the rollout."""
    skipped: int
    """Lines of the rollout left out (client errors, unknown arm, no latency)."""

    def looks(self, cutoffs: list[str]) -> list[tuple[ArmObservations, ArmObservations]]:
        """The requests of each look: those after the previous cutoff up to this one."""
        return list(zip(self.stable.slices(cutoffs), self.challenger.slices(cutoffs), strict=True))


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("nan")
    return float(value)


def _lines(data: bytes) -> list[dict[str, Any]]:
    records = []
    for line in data.split(b"\n")[:-1]:  # the part after the last newline is torn or empty
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def log_files(ws: Workspace, since: str, until: str) -> list[LogSource]:
    """Inference log files (pruned ones read from the Parquet) in the date partitions from
    `since`'s day to `until`'s."""
    from core.operations.feedback.inference_log import inference_sources

    return inference_sources(ws, since[:10], until[:10])


def read_rollout_log(
    ws: Workspace,
    model: str,
    rollout_id: str,
    since: str,
    until: str,
    losses: dict[tuple[str, str], float] | None = None,
) -> RolloutLog:
    """The rollout's requests logged from `since` to `until` (ISO times). With `losses`
    ((request_id, run_id) -> per-row loss of the joined outcomes,
    `core.operations.feedback.outcomes.losses_by_request`), each arm also carries the loss
    of every row served that has an outcome: one per row, not per call, since each row is
    its own prediction with its own label."""
    needle = rollout_id.encode()
    arms: dict[str, dict[str, list[Any]]] = {
        arm: {"ts": [], "latency_ms": [], "cpu_ms": [], "error": [], "losses": []} for arm in ARMS
    }
    files = skipped = 0
    for source in log_files(ws, since, until):
        try:
            data = source.data()
        except OSError:
            continue
        if needle not in data:
            continue
        files += 1
        defaults: dict[str, Any] = {}
        seen: set[tuple[Any, ...]] = set()
        for record in _lines(data):
            if record.get("kind") == "batch" or (
                "request_id" not in record and "latency_ms" not in record
            ):
                defaults.update(record)  # a batch record: what repeats for its lines
                continue
            row = {**defaults, **record}
            if row.get("rollout_id") != rollout_id or row.get("model", model) != model:
                continue
            arm = row.get("arm")
            if row.get("mode") == "shadow":
                arm = "challenger"
            error = is_error(row.get("status"), row.get("error_code"))
            latency = _num(row.get("latency_ms"))
            ts = str(row.get("ts") or "")
            if arm not in arms or error is None or not ts or (latency != latency and not error):
                skipped += 1
                continue
            if losses is not None and not error:
                loss = losses.get((str(row.get("request_id")), str(row.get("run_id"))))
                if loss is not None:
                    arms[str(arm)]["losses"].append((ts, loss))
            # The rows of one HTTP call share its time and latency: one observation per call
            # and arm (by `call_id` when the log has one), not one per row.
            call = row.get("call_id")
            key = (arm, call) if call else (arm, ts, row.get("latency_ms"), row.get("cpu_ms"))
            if key in seen:
                continue
            seen.add(key)
            target = arms[str(arm)]
            target["ts"].append(ts)
            target["latency_ms"].append(latency if latency == latency else 0.0)
            target["cpu_ms"].append(_num(row.get("cpu_ms")))
            target["error"].append(bool(error))
    built = {
        arm: ArmLog.build(
            v["ts"], v["latency_ms"], v["cpu_ms"], v["error"], v["losses"] if losses else None
        )
        for arm, v in arms.items()
    }
    return RolloutLog(built["stable"], built["challenger"], files, skipped)
