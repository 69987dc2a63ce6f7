"""Write `tests/render/samples/*.json`: one real `data` per schema, for the render tests.

Every sample is the `--json` envelope of a real `factory` command on a workspace built by
`factory demo` (six runs of two models), then cut to a readable size: long lists keep their
first items, the workspace folder reads `/home/dev/weather-factory`. A schema no command can
produce here without a terminal (`factory.tui/1`) is written by hand below.

Run it after a change of a command's JSON shape, and read the diff:

    .venv/bin/python -m tests.render.make_samples
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.render.envelope import ENVELOPE
from tests.conftest import run_factory

SAMPLES = Path(__file__).resolve().parent / "samples"
HOME = "/home/dev/weather-factory"
PINNED = {"FACTORY_SESSION": "samples", "TZ": "UTC", "FACTORY_THREADS": "2"}
SCALARS_KEPT = 8
RECORDS_KEPT = 16


def trim(value: Any) -> Any:
    """Long lists keep their first items: the shape is what a renderer needs, not 1,461 rows."""
    if isinstance(value, dict):
        return {k: trim(v) for k, v in value.items()}
    if isinstance(value, list):
        records = bool(value) and all(isinstance(v, dict) for v in value)
        return [trim(v) for v in value[: RECORDS_KEPT if records else SCALARS_KEPT]]
    return value


def relocate(value: Any, roots: list[str]) -> Any:
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root, HOME)
        return value
    if isinstance(value, list):
        return [relocate(v, roots) for v in value]
    if isinstance(value, dict):
        return {k: relocate(v, roots) for k, v in value.items()}
    return value


class Recorder:
    def __init__(self, ws: Path, roots: list[str]) -> None:
        self.ws, self.roots = ws, roots
        self.written: dict[str, str] = {}

    def run(self, *args: str, now: str, cwd: Path | None = None) -> dict[str, Any]:
        ran = run_factory(*args, "--json", cwd=cwd or self.ws, env={**PINNED, "FACTORY_NOW": now})
        doc: dict[str, Any] = ran.doc
        if not doc["ok"]:
            raise SystemExit(f"factory {' '.join(args)}: {doc['error']}")
        return doc

    def keep(self, doc: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """Write the envelope (cut and relocated) as `<schema>.json`, or `name` for a second
        sample of a schema."""
        schema = doc["schema"]
        file = name or schema.removeprefix("factory.").replace("/", "-")
        kept = relocate(trim(doc), self.roots)
        path = SAMPLES / f"{file}.json"
        path.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.written[file] = schema
        return doc


def weather_csv(path: Path, *, extra_month: bool = False, broken: bool = False) -> Path:
    """The embedded weather data as a file; with a January 2016 made of January 2015's rows
    (new data), or with a bad row (a negative wind, an unknown weather word)."""
    import pandas as pd
    from vega_datasets import data

    frame = data.seattle_weather()
    if extra_month:
        month = frame[(frame["date"] >= "2015-01-01") & (frame["date"] < "2015-02-01")].copy()
        month["date"] = month["date"] + pd.DateOffset(years=1)
        frame = pd.concat([frame, month], ignore_index=True)
    if broken:
        frame.loc[3, "wind"] = -4.0
        frame.loc[5, "weather"] = "[hail]"
    frame.to_csv(path, index=False)
    return path


def serve_samples(rec: Recorder, ws: Path, scored: Path) -> None:
    """`factory serve` for real (a subprocess on a free port, a few requests, SIGTERM), then
    `serve check --url` against it and `perf` over what it logged."""
    import os
    import signal
    import subprocess
    import threading

    import httpx
    import pandas as pd

    from tests.conftest import FACTORY, REPO

    env = {**os.environ, "PYTHONPATH": str(REPO), **PINNED, "FACTORY_NOW": "2026-11-20T10:47:00Z"}
    env.pop("FACTORY_WORKSPACE", None)
    proc = subprocess.Popen(
        [*FACTORY, "serve", "--port", "0", "--json"],
        cwd=ws,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    url = ""
    for line in proc.stderr:
        if "serving on " in line:
            url = line.split("serving on ", 1)[1].split()[0]
            break
    if not url:
        proc.kill()
        raise SystemExit("factory serve did not start")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    rows = pd.read_csv(scored).tail(6).to_dict("records")
    with httpx.Client(base_url=url, timeout=60) as client:
        served = client.get("/v1/health").json()["models"]["rain"]
        path = "/v1/rain/predict" if served["prod"] else "/v1/rain/staging/predict"
        for start in range(0, 6, 2):
            answer = client.post(path, json={"rows": rows[start : start + 2]})
            assert answer.status_code == 200, answer.text
    rec.keep(rec.run("serve", "check", "rain", "--url", url, now="2026-11-20T10:48:00Z"))
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    rec.keep(json.loads(out))
    rec.keep(rec.run("perf", "rain", now="2026-11-20T10:49:00Z"))


def main() -> None:
    SAMPLES.mkdir(exist_ok=True)
    for old in SAMPLES.glob("*.json"):
        old.unlink()
    tmp = Path(tempfile.mkdtemp(prefix="render-samples-"))
    ws = tmp / "ws"
    try:
        rec = Recorder(ws, [str(ws.resolve()), str(ws), str(tmp)])
        rec.keep(rec.run("init", str(tmp / "fresh"), now="2026-11-20T09:00:00Z", cwd=tmp))
        demo = rec.keep(rec.run("demo", str(ws), "--no-story", now="2026-11-20T09:05:00Z", cwd=tmp))
        runs = {
            (r["model"], r["components"]["features"], r["components"]["hparams"]): r["run_id"]
            for r in demo["data"]["runs"]
        }
        rain_v1, rain_v2 = runs[("rain", "weather_v1", "h1")], runs[("rain", "weather_v2", "h1")]
        rain_h2 = runs[("rain", "weather_v2", "h2")]
        snapshot = demo["data"]["snapshot_id"]
        rec.keep(
            rec.run(
                "train",
                "rain",
                "--features",
                "weather_v1",
                "--hparams",
                "h2",
                "--quiet",
                now="2026-11-20T09:40:00Z",
            )
        )

        rec.keep(rec.run("data", "snapshot", now="2026-11-20T10:00:00Z"))
        rec.keep(rec.run("data", "list", now="2026-11-20T10:01:00Z"))
        rec.keep(rec.run("data", "show", snapshot, now="2026-11-20T10:02:00Z"))
        bad = weather_csv(tmp / "weather-bad.csv", broken=True)
        ran = run_factory(
            "validate",
            str(bad),
            "--json",
            cwd=ws,
            env={**PINNED, "FACTORY_NOW": "2026-11-20T10:02:30Z"},
        )
        rec.keep(ran.doc)
        rec.keep(rec.run("components", now="2026-11-20T10:03:00Z"))
        rec.keep(rec.run("runs", now="2026-11-20T10:04:00Z"))
        rec.keep(rec.run("show", rain_h2, now="2026-11-20T10:05:00Z"))
        rec.keep(rec.run("show", rain_h2, "--full", now="2026-11-20T10:06:00Z"))
        rec.keep(rec.run("curves", rain_h2, now="2026-11-20T10:07:00Z"))
        rec.keep(rec.run("curves", rain_h2, "--summary", now="2026-11-20T10:08:00Z"))
        rec.keep(rec.run("compare", rain_v1, rain_v2, now="2026-11-20T10:09:00Z"))
        pit = rec.run(
            "check", "features", "weather_v2", "--budget", "2", now="2026-11-20T10:10:00Z"
        )
        rec.keep(pit)
        gate = rec.keep(rec.run("gate", rain_h2, "--to", "staging", now="2026-11-20T10:12:00Z"))
        rec.keep(rec.run("promote", rain_h2, "--to", "staging", now="2026-11-20T10:13:00Z"))
        rec.run(
            "promote",
            rain_v2,
            "--to",
            "staging",
            "--override",
            "a second champion to roll back from",
            now="2026-11-20T10:14:00Z",
        )
        rec.keep(rec.run("tiers", "rain", now="2026-11-20T10:15:00Z"))
        rec.keep(
            rec.run(
                "rollback",
                "rain",
                "--tier",
                "staging",
                "--reason",
                "[sample] the newer one regressed",
                now="2026-11-20T10:16:00Z",
            )
        )
        scored = weather_csv(tmp / "weather.csv")
        predicted = rec.keep(
            rec.run(
                "predict",
                "rain",
                "--input",
                str(scored),
                "--tier",
                "staging",
                "--from",
                "2015-12-20",
                now="2026-11-20T10:17:00Z",
            )
        )
        rec.keep(
            rec.run("trace", predicted["data"]["first_request_id"], now="2026-11-20T10:18:00Z")
        )
        newer = rec.run(
            "data",
            "snapshot",
            str(weather_csv(tmp / "weather-2016.csv", extra_month=True)),
            now="2026-11-20T10:19:00Z",
        )["data"]["snapshot_id"]
        drift_run = run_factory(
            "drift",
            "rain",
            "--current",
            newer,
            "--json",
            cwd=ws,
            env={**PINNED, "FACTORY_NOW": "2026-11-20T10:20:00Z"},
        )
        drift = rec.keep(drift_run.doc)
        newdata_run = run_factory(
            "check",
            "new-data",
            "rain",
            "--snapshot",
            newer,
            "--json",
            cwd=ws,
            env={**PINNED, "FACTORY_NOW": "2026-11-20T10:22:00Z"},
        )
        newdata = rec.keep(newdata_run.doc)
        alerts = rec.keep(rec.run("alerts", "--all", now="2026-11-20T10:24:00Z"))
        open_alerts = [a for a in alerts["data"]["alerts"] if a.get("state") == "open"]
        if open_alerts:
            rec.keep(
                rec.run("alerts", "ack", open_alerts[0]["alert_id"], now="2026-11-20T10:25:00Z")
            )
        rec.keep(
            rec.run(
                "query",
                "SELECT run_id, model, created_at FROM runs ORDER BY created_at",
                now="2026-11-20T10:26:00Z",
            )
        )
        rec.keep(rec.run("query", "--tables", now="2026-11-20T10:26:30Z"), "query-tables")
        rec.keep(rec.run("export", "tables", now="2026-11-20T10:26:40Z"))
        ddl = ("export", "ddl", "--engine", "athena", "--location", "s3://bucket/factory")
        rec.keep(rec.run(*ddl, now="2026-11-20T10:26:50Z"))
        rec.keep(
            rec.run(
                "plan",
                "rain",
                "--hparams",
                "h2",
                "--features",
                "weather_v1",
                "--intent",
                "does depth help [without lags]?",
                "--expect",
                "beats best",
                now="2026-11-20T10:27:00Z",
            )
        )
        rec.keep(
            rec.run(
                "note",
                rain_h2,
                "deeper trees help [a little]",
                "--next",
                "try h3",
                now="2026-11-20T10:28:00Z",
            )
        )
        rec.keep(rec.run("cards", now="2026-11-20T10:29:00Z"))
        rec.keep(rec.run("card", "rain", now="2026-11-20T10:30:00Z"))
        rec.keep(rec.run("migrate", "cards", now="2026-11-20T10:31:00Z"))
        rec.keep(rec.run("why", "features/weather_v2", now="2026-11-20T10:32:00Z"))
        rec.keep(rec.run("effects", "rain", now="2026-11-20T10:33:00Z"))
        rec.keep(
            rec.run(
                "adr",
                "new",
                "Score [rain] by AUC",
                "--context",
                "Classes are unbalanced.",
                now="2026-11-20T10:34:00Z",
            )
        )
        rec.keep(
            rec.run("adr", "supersede", "1", "Score rain by log loss", now="2026-11-20T10:35:00Z")
        )
        rec.keep(rec.run("adr", "list", now="2026-11-20T10:36:00Z"))
        rec.keep(rec.run("history", "--all", "--since", "2026-11-01", now="2026-11-20T10:37:00Z"))
        rec.keep(rec.run("status", now="2026-11-20T10:38:00Z"))
        # Verdicts read back by id: `show gate-...` and friends print the recorded verdict.
        rec.keep(rec.run("show", gate["data"]["gate_id"], now="2026-11-20T10:39:00Z"), "show-gate")
        rec.keep(
            rec.run("show", drift["data"]["drift_id"], now="2026-11-20T10:40:00Z"), "show-drift"
        )
        rec.keep(rec.run("show", pit["data"]["pit_id"], now="2026-11-20T10:41:00Z"), "show-pit")
        if newdata["data"] and newdata["data"].get("check_id"):
            rec.keep(
                rec.run("show", newdata["data"]["check_id"], now="2026-11-20T10:42:00Z"),
                "show-newdata",
            )
        # The remote: a local folder stands in for S3 (fsspec speaks both the same way).
        remote = str(tmp / "remote")
        rec.keep(rec.run("push", "--remote", remote, now="2026-11-20T10:43:00Z"), "remote-push")
        rec.keep(rec.run("pull", "--remote", remote, now="2026-11-20T10:44:00Z"), "remote-pull")
        # A clone without the model file: rebuild retrains it and checks it against the report.
        shutil.rmtree(ws / "artifacts" / rain_h2)
        rec.keep(rec.run("rebuild", rain_h2, now="2026-11-20T10:45:00Z"))
        rec.keep(rec.run("compact", now="2026-11-21T10:46:00Z"))
        serve_samples(rec, ws, tmp / "weather.csv")
        tui = {
            "envelope": ENVELOPE,
            "ok": True,
            "command": "tui",
            "schema": "factory.tui/1",
            "data": {"closed": True},
            "error": None,
            "next": [],
        }
        rec.keep(tui)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for file, schema in sorted(rec.written.items()):
        print(f"{file:28} {schema}", file=sys.stderr)
    # Rollouts, jobs, MCP, feedback and sunset need workspaces of their own.
    from tests.render import make_samples_loop

    make_samples_loop.main()


if __name__ == "__main__":
    main()
