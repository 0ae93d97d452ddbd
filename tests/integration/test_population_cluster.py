"""The spark engine on a real standalone cluster: a master and two workers on loopback.

The cluster is started from the pyspark installation (its bundled jars and `spark-class`), the
screen runs through the CLI with `--spark-master spark://127.0.0.1:PORT`, and its output must be
the duckdb engine's, byte for byte, even when a worker dies in the middle of the job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ldnkit.population.run import screen_population
from ldnkit.population.synth import generate

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea-bulk-10"
AS_OF = dt.date(2026, 11, 23)
LDNKIT = Path(sys.executable).with_name("ldnkit")
START_TIMEOUT = 90.0
RUN_TIMEOUT = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def group_commands(group: int) -> list[str]:
    """The command lines of the live processes of one process group."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            pgid = int(stat.rsplit(")", 1)[1].split()[2])
            if pgid == group:
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return found


@dataclass
class Cluster:
    """A standalone master and workers, each in its own process group (killed with it)."""

    folder: Path
    env: dict[str, str]
    master_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.master_port}"

    def _start(self, name: str, args: list[str]) -> None:
        spark_class = Path(self.env["SPARK_HOME"]) / "bin" / "spark-class"
        log = (self.folder / f"{name}.log").open("wb")
        self.logs.append(log)
        self.processes[name] = subprocess.Popen(
            [str(spark_class), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self, workers: int) -> None:
        self._start(
            "master",
            [
                *("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"),
                *("--port", str(self.master_port), "--webui-port", str(self.ui_port)),
            ],
        )
        wait_for("the master's web UI", self._master_up, START_TIMEOUT)
        for number in range(workers):
            work = self.folder / f"worker-{number}"
            work.mkdir()
            self._start(
                f"worker-{number}",
                [
                    *("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1"),
                    *("--port", str(free_port()), "--webui-port", str(free_port())),
                    *("--cores", "1", "--memory", "1g", "--work-dir", str(work), self.url),
                ],
            )
        wait_for(f"{workers} workers", lambda: len(self.alive()) == workers, START_TIMEOUT)

    def _master_up(self) -> bool:
        try:
            self.state()
        except OSError:
            return False
        return True

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            data: dict[str, Any] = json.load(r)
            return data

    def alive(self) -> list[dict[str, Any]]:
        return [w for w in self.state()["workers"] if w["state"] == "ALIVE"]

    def running_python(self, name: str) -> bool:
        """Whether a worker's executor runs Python tasks now (its pyspark daemon is up)."""
        return any("pyspark.daemon" in c for c in group_commands(self.processes[name].pid))

    def kill(self, name: str) -> None:
        """The worker, its executor and their Python processes die at once, like a lost host."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
        for log in self.logs:
            log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("no JDK; .ci/run installs default-jre-headless", pytrace=False)
        pytest.skip("no JDK on this machine (CI installs default-jre-headless)")
    import pyspark

    env = {
        **os.environ,
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "SPARK_LOCAL_IP": "127.0.0.1",
        # Executors run this interpreter, where ldnkit is installed.
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    running = Cluster(tmp_path_factory.mktemp("cluster"), env)
    try:
        running.start(workers=2)
        yield running
    finally:
        running.stop()


def screen_on(cluster: Cluster, folder: Path, out: Path) -> subprocess.Popen[str]:
    args = [str(LDNKIT), "population", "screen", str(folder), "--as-of", AS_OF.isoformat()]
    args += ["--out", str(out), "--engine", "spark", "--spark-master", cluster.url, "--json"]
    return subprocess.Popen(
        args, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(run: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        stdout, stderr = run.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        run.kill()
        stdout, stderr = run.communicate()
        raise AssertionError(
            f"the screen did not finish in {RUN_TIMEOUT:.0f} s:\n{stderr}"
        ) from None
    assert run.returncode == 0, stderr
    return stdout, stderr


def test_synthea_on_a_cluster_matches_duckdb_byte_for_byte(
    cluster: Cluster, tmp_path: Path
) -> None:
    duck, spark = tmp_path / "duckdb.csv", tmp_path / "spark.csv"
    screen_population(SYNTHEA, AS_OF, duck)
    stdout, _ = finished(screen_on(cluster, SYNTHEA, spark))
    assert json.loads(stdout)["patients"] == 13
    assert spark.read_bytes() == duck.read_bytes()


def test_a_worker_killed_mid_job_leaves_the_output_whole_and_identical(
    cluster: Cluster, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    generate(3000, folder, seed=21, as_of=AS_OF, per_file=1000)
    duck, spark = tmp_path / "duckdb.csv", tmp_path / "spark.csv"
    screen_population(folder, AS_OF, duck)
    assert len(cluster.alive()) == 2
    run = screen_on(cluster, folder, spark)
    workers = [name for name in cluster.processes if name.startswith("worker")]
    try:
        # Mid-job: the screening stage has started on a worker (its Python tasks are running).
        wait_for(
            "Python tasks on a worker",
            lambda: run.poll() is not None or any(cluster.running_python(w) for w in workers),
            RUN_TIMEOUT,
            every=0.05,
        )
        busy = [w for w in workers if cluster.running_python(w)]
        assert run.poll() is None, "the job ended before any worker ran its tasks"
        assert busy
        cluster.kill(busy[0])
    finally:
        stdout, stderr = finished(run)
    assert len(cluster.alive()) == 1
    # Spark saw the executor go and ran its tasks again on the other worker.
    assert "Lost executor" in stderr
    assert json.loads(stdout)["patients"] == 3000
    assert spark.read_bytes() == duck.read_bytes()
