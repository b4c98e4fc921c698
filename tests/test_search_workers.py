"""gankit tune --workers 2: two processes share one study (SQLite, and a real PostgreSQL server)
without running a grid point twice or more trials than asked."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from gankit.search import TuneSettings, tune
from gankit.search.report import open_study
from test_search_study import RING

GRID = "optim.g.lr: {choice: [1.0e-3, 3.0e-4]}\noptim.d.lr: {choice: [1.0e-3, 3.0e-4]}\n"
POINTS = {(g, d) for g in (1e-3, 3e-4) for d in (1e-3, 3e-4)}
# Shorter than the other tune tests: here only the bookkeeping matters, not what the runs learn.
SHORT = RING + ("train.steps=40", "train.sample_every=40", "train.checkpoint_every=40", "eval.n_samples=200")


def _two_workers(tmp_path, storage=None):
    space = tmp_path / "space.yaml"
    space.write_text(GRID, encoding="utf-8")
    result = tune(TuneSettings(space=str(space), metric="hq_percent", trials=4, preset="ring-gan", sampler="grid",
                               pruner="none", overrides=SHORT + (f"out={tmp_path / 'runs'}",), storage=storage,
                               study="shared", study_dir=str(tmp_path / "study"), workers=2, eval_every=20,
                               quiet=True), report=False)
    study = open_study(tmp_path / "study", storage=storage)
    trials = study.trials
    assert result.states == {"COMPLETE": 4}
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    points = [(t.params["optim.g.lr"], t.params["optim.d.lr"]) for t in trials]
    assert sorted(points) == sorted(POINTS)  # every grid point exactly once
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # trained in the worker processes
    for t in trials:  # each trial's own run folder, trained to the end, evaluated twice
        assert (Path(t.user_attrs["run_dir"]) / "checkpoints").is_dir()
        assert sorted(t.intermediate_values) == [20, 40]
        assert Path(t.user_attrs["run_dir"]).name == f"trial-{t.number:04d}"
    return trials


def test_two_workers_share_an_sqlite_study(tmp_path):
    _two_workers(tmp_path)
    assert (tmp_path / "study" / "study.db").is_file()


def _pg_program(name: str):
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):  # Debian keeps them here
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 with its data in a temporary folder; stopped afterwards."""
    initdb, pg_ctl = _pg_program("initdb"), _pg_program("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver: pip install -e '.[test]'")
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the package's postgres user
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="gankit-pg-")  # not under pytest's 0700 root-owned tmp_path
    data = os.path.join(root, "data")
    if as_user:
        shutil.chown(root, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        run(pg_ctl, "-D", data, "-l", os.path.join(root, "server.log"), "-w", "-t", "60", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    except subprocess.CalledProcessError as e:
        log = Path(root, "server.log")
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {e.stderr or e.stdout}{log.read_text() if log.exists() else ''}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_a_postgresql_study(tmp_path, postgres_url):
    _two_workers(tmp_path, storage=postgres_url)
    assert not (tmp_path / "study" / "study.db").exists()  # the trials went to the server
    import sqlalchemy

    with sqlalchemy.create_engine(postgres_url).connect() as c:  # the server holds them (Optuna's schema)
        states = c.execute(sqlalchemy.text("SELECT state, count(*) FROM trials GROUP BY state")).all()
    assert [(str(s).split(".")[-1], n) for s, n in states] == [("COMPLETE", 4)]
