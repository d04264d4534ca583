"""A Ray Data sampling actor SIGKILLed mid-run: the written table is the undisturbed one.

The session's real local Ray runs ``sample_dataset`` with two sampling actors, written to
a Delta table by ``write_dataset``. A watcher thread finds a sampling actor's process in
Ray's actor table (GCS: class, pid, restarts; the dashboard's state API is not started
by synth-ray), waits until that process is busy making chunks (its CPU time grows), and
kills it with SIGKILL. Ray restarts the actor and retries its chunks (Ray Data's actor
pool defaults: ``max_restarts=-1``, ``max_task_retries=-1``); the table must equal, row
for row, the one an undisturbed local refresh publishes.

(The other Ray fault of issue 10, a Ray Train worker SIGKILLed mid-fit and resumed from
its last checkpoint, is tests/test_ray_training.py::test_killed_worker_resumes_from_...)
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

import synth_ray
from synth_ray.synthesizer import Synthesizer

CHUNK_ROWS = 16_384
ROWS = 48 * CHUNK_ROWS  # 48 chunks: plenty left to make when an actor dies
SEED = 11
SAMPLER = "ChunkSampler"


def small_chunks(model: Synthesizer) -> Synthesizer:
    return Synthesizer(metadata=model.metadata, transformer=model.transformer,
                       generator=model.generator, training=model.training, chunk_rows=CHUNK_ROWS)


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of ``pid`` in clock ticks (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def sampler_actors() -> dict[str, dict]:
    from ray._private.state import actors

    return {actor_id: info for actor_id, info in actors().items()
            if SAMPLER in info["ActorClassName"]}


def busy(pid: int, window_s: float = 0.2) -> bool:
    try:
        before = cpu_ticks(pid)
        time.sleep(window_s)
        return cpu_ticks(pid) - before >= 3  # >= 30 ms of CPU in 200 ms: making a chunk
    except FileNotFoundError:
        return False


def kill_a_busy_sampler(killed: dict, stop: threading.Event) -> None:
    while not stop.is_set():
        for actor_id, info in sampler_actors().items():
            if info["State"] == "ALIVE" and info["Pid"] and busy(info["Pid"]):
                os.kill(info["Pid"], signal.SIGKILL)
                killed.update(actor=actor_id, pid=info["Pid"], at=time.monotonic())
                return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def model(diamonds_model) -> Synthesizer:
    return small_chunks(diamonds_model)


def test_sampling_actor_killed_mid_run_gives_the_undisturbed_table(ray_cluster, model, tmp_path):
    from synth_ray.on_ray.sampling import sample_dataset
    from synth_ray.on_ray.writing import write_dataset

    schema = model.metadata.arrow_schema
    synth_ray.write_table(model.iter_batches(ROWS, seed=SEED), schema=schema, path=tmp_path / "ref")
    killed: dict = {}
    stop = threading.Event()
    watcher = threading.Thread(target=kill_a_busy_sampler, args=(killed, stop), daemon=True)
    watcher.start()
    try:
        dataset = sample_dataset(model, rows=ROWS, seed=SEED, actors=2, num_cpus=0.5)
        result = write_dataset(dataset, schema=schema, path=tmp_path / "table")
        finished = time.monotonic()
    finally:
        stop.set()
        watcher.join()
    assert killed, "no sampling actor was found busy: the fault never happened"
    assert killed["at"] < finished
    assert sampler_actors()[killed["actor"]]["NumRestarts"] >= 1  # Ray restarted the killed one
    assert result.rows == ROWS and DeltaTable(str(tmp_path / "table")).version() == 0
    got, want = synth_ray.read_table(tmp_path / "table"), synth_ray.read_table(tmp_path / "ref")
    assert got.equals(want)  # row for row
