"""`[compute] engine = "dask"` (adrs/0033): walk-forward folds and scoring partitions as tasks
on a real local Dask cluster of two worker processes give what the local engine gives: the
same run id, the same report but for the fields that say how long and where it ran, the same
out-of-fold predictions and predictions file bytes, and an inference log written once, by
the driver. A bad engine or an address that never answers fails with file and line, in
bounded time."""

from __future__ import annotations

import json
import logging
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.compute.engine import EngineSpec, check_same, engine_spec, open_engine, versions
from core.foundation.config import ComputeConfig
from core.foundation.errors import FactoryError
from tests.conftest import Ran, run_factory
from tests.experiments.conftest import make_workspace

pytestmark = pytest.mark.slow

ENV = {"FACTORY_THREADS": "2", "FACTORY_NOW": "2026-01-05T10:00:00Z"}

HOW_IT_RAN = ("timings", "latency", "cost")
"""Report sections that measure this training (seconds, CPU, single-row latency) and so
differ between any two trainings, local or not."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    """Two worker processes of one thread each, shared by the module's tests."""
    from distributed import Client, LocalCluster

    local = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(local, set_as_default=False)
    yield {"address": local.scheduler_address, "client": client}
    client.close()
    local.close()


def _compute(root: Path, body: str) -> None:
    config = root / "factory.toml"
    config.write_text(config.read_text() + f"\n[compute]\n{body}\n")


def _run(root: Path, *args: str) -> Ran:
    return run_factory(*args, "--json", cwd=root, env=ENV, timeout=120)


@pytest.fixture(scope="module")
def pair(cluster: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same workspace twice, one run of `rain` trained in each: locally, and on the
    cluster through factory.toml's `[compute]`."""
    base = tmp_path_factory.mktemp("engine")
    template = make_workspace(base / "template")
    local, dask = base / "local", base / "dask"
    shutil.copytree(template, local, symlinks=True)
    shutil.copytree(template, dask, symlinks=True)
    _compute(dask, f'engine = "dask"\naddress = "{cluster["address"]}"')
    trained = {}
    for name, root in (("local", local), ("dask", dask)):
        ran = _run(root, "train", "rain", "--hparams", "tiny", "--quiet")
        assert ran.code == 0, ran.stdout + ran.stderr
        trained[name] = ran.doc["data"]
    import pandas as pd

    snapshot = trained["local"]["snapshot_id"]
    frame = pd.read_parquet(local / "data" / "snapshots" / snapshot / "data.parquet")
    frame.to_csv(local / "rows.csv", index=False)
    shutil.copyfile(local / "rows.csv", dask / "rows.csv")
    return {"local": local, "dask": dask, "trained": trained, "rows": len(frame)}


def _report(root: Path, run_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "reports" / f"{run_id}.json").read_text())
    return data


def _without_how_it_ran(report: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in report.items() if k not in HOW_IT_RAN}
    kept["folds"] = [{k: v for k, v in f.items() if k != "seconds"} for f in report["folds"]]
    kept["reproducibility"] = {k: v for k, v in report["reproducibility"].items() if k != "engine"}
    return kept


def test_train_on_dask_gives_the_local_run(pair: dict[str, Any], cluster: dict[str, Any]) -> None:
    run_id = pair["trained"]["local"]["run_id"]
    assert pair["trained"]["dask"]["run_id"] == run_id
    here, there = _report(pair["local"], run_id), _report(pair["dask"], run_id)
    # Where it ran: on the two workers of the module's cluster; locally nothing is said.
    assert there["reproducibility"]["engine"] == {
        "name": "dask",
        "address": cluster["address"],
        "workers": 2,
        "threads": 2,
    }
    assert "engine" not in here["reproducibility"]
    assert here["reproducibility"]["thread_count"] == there["reproducibility"]["thread_count"] == 2
    assert _without_how_it_ran(here) == _without_how_it_ran(there)
    # Out-of-fold predictions as bytes, and every fold's curve, not only their scores.
    assert json.dumps(here["predictions"]).encode() == json.dumps(there["predictions"]).encode()
    assert here["curves"] == there["curves"] and len(here["folds"]) == 4
    # The folds really ran as tasks on the cluster.
    prefixes = cluster["client"].run_on_scheduler(
        lambda dask_scheduler: sorted(dask_scheduler.task_prefixes)
    )
    assert any("fit_fold_task" in p for p in prefixes), prefixes
    assert there["timings"]["total_s"] > 0 and here["cost"]["cpu_seconds"] > 0


def _loaded_models() -> int:
    from core.compute import scoring

    return len(scoring._LOADED)


def _log_files(root: Path) -> list[Path]:
    return sorted((root / "logs" / "inference").glob("date=*/*.jsonl"))


def test_predict_on_dask_gives_the_local_bytes_logged_once(
    pair: dict[str, Any], cluster: dict[str, Any]
) -> None:
    local, dask = pair["local"], pair["dask"]
    run_id = pair["trained"]["local"]["run_id"]
    score = ("predict", "rain", "--tier", "dev", "--run", run_id, "--input", "rows.csv")

    here = _run(local, *score, "--output", "out.csv")
    assert here.code == 0, here.stdout + here.stderr
    assert cluster["client"].run(_loaded_models) == {w: 0 for w in cluster["client"].nthreads()}
    there = _run(dask, *score, "--output", "out.csv", "--engine", "dask")
    assert there.code == 0, there.stdout + there.stderr
    rows = here.doc["data"]["rows"]
    assert rows == pair["rows"] > 1000
    assert (local / "out.csv").read_bytes() == (dask / "out.csv").read_bytes()
    # The workers scored the partitions (each loads the model once, whatever it scores).
    loaded = cluster["client"].run(_loaded_models)
    assert sum(loaded.values()) >= 1 and set(loaded.values()) <= {0, 1}

    # --engine overrides factory.toml's local engine: a cluster started for the command.
    again = _run(local, *score, "--output", "again.csv", "--engine", "dask")
    assert again.code == 0, again.stdout + again.stderr
    assert (local / "again.csv").read_bytes() == (local / "out.csv").read_bytes()
    assert again.doc["data"]["logged"] is False and again.doc["data"]["reused"] is True
    repeat = _run(dask, *score, "--output", "out.csv", "--engine", "dask")
    assert repeat.code == 0 and repeat.doc["data"]["logged"] is False

    # One batch file each, a record and a line per row: the same lines, byte for byte.
    logs = {name: _log_files(root) for name, root in (("local", local), ("dask", dask))}
    assert [len(found) for found in logs.values()] == [1, 1]
    lines = {name: found[0].read_bytes().splitlines() for name, found in logs.items()}
    assert len(lines["local"]) == len(lines["dask"]) == rows + 1
    assert lines["local"][1:] == lines["dask"][1:]
    record = json.loads(lines["dask"][0])
    assert record["kind"] == "batch" and record["pid"] != 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _line_of(root: Path, key: str) -> int:
    lines = (root / "factory.toml").read_text().splitlines()
    return max(n for n, line in enumerate(lines, 1) if line.startswith(f"{key} ="))


def test_bad_engine_settings_fail_with_file_and_line(pair: dict[str, Any], tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(pair["local"], root, symlinks=True)
    config = root / "factory.toml"
    original = config.read_text()
    logged = [p.read_bytes() for p in _log_files(root)]
    run_id = pair["trained"]["local"]["run_id"]
    score = ("predict", "rain", "--tier", "dev", "--run", run_id, "--input", "rows.csv")

    _compute(root, 'engine = "spark"')
    ran = _run(root, *score)
    assert ran.code == 3 and ran.doc["error"]["code"] == "config_invalid"
    assert ran.doc["error"]["message"].startswith(f"{config}:{_line_of(root, 'engine')}:")
    assert "local, dask, ray" in ran.doc["error"]["message"]

    config.write_text(original)
    _compute(root, 'address = "tcp://127.0.0.1:8786"')
    ran = _run(root, *score)
    assert ran.code == 3 and ran.doc["error"]["code"] == "config_invalid"
    assert ran.doc["error"]["details"]["key"] == "address"

    # Nothing listens: refused within connect_timeout_s, naming the address's line.
    config.write_text(original)
    port = _free_port()
    _compute(root, f'engine = "dask"\naddress = "tcp://127.0.0.1:{port}"\nconnect_timeout_s = 1')
    ran = _run(root, *score)
    assert ran.code == 3 and ran.doc["error"]["code"] == "engine_unreachable", ran.stdout
    assert ran.doc["error"]["message"].startswith(f"{config}:{_line_of(root, 'address')}:")
    assert [p.read_bytes() for p in _log_files(root)] == logged
    assert not (root / "predictions").exists()

    # Something listens and never answers (not a scheduler): refused too, not a hang.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        config.write_text(original)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        _compute(root, f'engine = "dask"\naddress = "{address}"\nconnect_timeout_s = 1')
        ran = _run(root, "train", "rain", "--hparams", "tiny", "--force", "--quiet")
    assert ran.code == 3 and ran.doc["error"]["code"] == "engine_unreachable", ran.stdout
    assert "no Dask scheduler answers" in ran.doc["error"]["message"]

    config.write_text(original)
    _compute(root, 'engine = "ray"')
    ran = _run(root, *score)
    assert ran.code == 3 and ran.doc["error"]["code"] == "engine_unavailable"
    assert ran.doc["error"]["message"].startswith(f"{config}:{_line_of(root, 'engine')}:")
    assert "pip install" in ran.doc["error"]["hint"]


def test_engine_flag_chooses_and_address_stays_with_its_engine() -> None:
    configured = ComputeConfig(
        engine="dask", address="tcp://10.0.0.5:8786", workers=None, engine_at="f.toml:3"
    )
    assert engine_spec(configured).address == "tcp://10.0.0.5:8786"
    assert engine_spec(configured).where == "f.toml:3"
    assert engine_spec(configured, "local").local
    # `--engine ray` does not send Ray to a Dask scheduler's address.
    ray = engine_spec(configured, "ray")
    assert ray.address == "" and ray.where == "--engine ray"
    started = engine_spec(ComputeConfig(), "dask")
    assert started.name == "dask" and started.address == "" and not started.local


def test_workers_with_other_versions_are_refused() -> None:
    here = versions()
    check_same(here, {"tcp://a:1": dict(here), "tcp://b:1": dict(here)})
    other = {**here, "catboost": "0.26"}
    with pytest.raises(FactoryError) as caught:
        check_same(here, {"tcp://a:1": dict(here), "tcp://b:1": other})
    assert caught.value.code == "engine_mismatch"
    assert "tcp://b:1" in caught.value.message and "catboost 0.26" in caught.value.message
    assert caught.value.details["workers"] == {
        "tcp://b:1": {"catboost": {"here": here["catboost"], "worker": "0.26"}}
    }


def _refuse(shared: int, item: int) -> int:
    if item == shared:
        raise FactoryError("training_failed", f"item {item} failed", hint="fix it")
    return item * 10


def test_a_task_error_comes_back_as_the_same_error(cluster: dict[str, Any]) -> None:
    spec = EngineSpec("dask", address=cluster["address"], connect_timeout_s=5)
    for engine_of in (EngineSpec("local"), spec):
        with open_engine(engine_of) as engine:
            assert list(engine.map(_refuse, -1, [1, 2, 3])) == [10, 20, 30]
            results = engine.map(_refuse, 2, [1, 2, 3])
            assert next(results) == 10
            with pytest.raises(FactoryError) as caught:
                next(results)
        assert caught.value.code == "training_failed" and caught.value.hint == "fix it"
        assert caught.value.exit_code == 1


@pytest.mark.parametrize(
    ("body", "key", "says"),
    [
        ('engine = "dask"\naddress = "tcp://h:8786"\nworkers = 2', "workers", "sizes only"),
        ('engine = "dask"\naddress = "http://h/x"', "address", "not a Dask scheduler"),
        ('engine = "dask"\nconnect_timeout_s = 0', "connect_timeout_s", "between 0 and 600"),
        ('engine = "dask"\nworkers = 0', "workers", "at least 1"),
        ('engine = "dask"\nadress = "tcp://h:8786"', "adress", "did you mean 'address'"),
    ],
)
def test_compute_settings_are_checked_where_written(
    tmp_path: Path, body: str, key: str, says: str
) -> None:
    import tomllib

    from core.foundation.config import parse_config

    path = tmp_path / "factory.toml"
    text = f'[workspace]\nname = "w"\n\n[compute]\n{body}\n'
    with pytest.raises(FactoryError) as caught:
        parse_config(path, text, tomllib.loads(text))
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if ln.startswith(f"{key} ="))
    assert caught.value.code == "config_invalid"
    assert caught.value.message.startswith(f"{path}:{line}: [compute] {key}:")
    assert says in caught.value.message
    good = '[compute]\nengine = "dask"\naddress = "tcp://10.0.0.5:8786"\nconnect_timeout_s = 2\n'
    compute = parse_config(path, good, tomllib.loads(good)).compute
    assert (compute.engine, compute.address, compute.connect_timeout_s) == (
        "dask",
        "tcp://10.0.0.5:8786",
        2.0,
    )
    assert compute.address_at == f"{path}:3"
