"""Compare the round trip of this checkout's server with an earlier revision's, side by side.

On a shared machine a run a minute later can be 30% slower or faster; two servers asked in turn, in one run,
share whatever the machine does. Both get a copy of the same sample store (train drawings, as in
bench/personal.py's latency runs) and the same test drawings; the earlier revision comes from `git archive`.
Writes bench/results/latency_vs.json: each server's median and p95 round trip, its CPU time per request, and
the ratios.

    python bench/latency_vs.py REVISION [--samples 10000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path

import numpy as np
from groups import cpu_seconds
from personal import Data, add_data_arguments, fill_store, load_data, recognize, server
from pygls.lsp.client import LanguageClient
from record import write_results
from tqdm import tqdm

from extexify_lsp.protocol import TAUGHT
from extexify_lsp.recognizer import Recognizer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latency_vs.json"


@dataclass(frozen=True)
class Timing:
    revision: str
    median_ms: float
    p95_ms: float
    server_cpu_ms_per_request: float


def checkout(revision: str, into: Path) -> str:
    """The tree of `revision` in `into`; its full commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


async def compare(trees: dict[str, Path], data: Data, store: Path, requests: int) -> list[Timing]:
    """Each tree's server on its own copy of `store`, asked in turn, each first in turn."""
    queries = [i for s in data.evaluation for i in data.test[s]][:requests]
    times: dict[str, list[float]] = {name: [] for name in trees}
    async with AsyncExitStack() as stack:
        clients: dict[str, LanguageClient] = {}
        for name, tree in trees.items():
            copy = store.with_name(f"{store.stem}-{len(clients)}.sqlite3")
            shutil.copy(store, copy)
            # From the tree itself: `python -m` puts the working directory first on the path.
            command = ["env", "-C", str(tree), f"PYTHONPATH={tree}", sys.executable, "-m", "extexify_lsp"]
            clients[name] = await stack.enter_async_context(
                server([*command, "--log-level", "WARNING"], copy)
            )
        for client in clients.values():
            await client.protocol.send_request_async(TAUGHT, {})  # answered once the samples are embedded
            await recognize(client, data.strokes(queries[0]))
        pids = {name: client._server.pid for name, client in clients.items()}  # type: ignore[union-attr]
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        names = list(clients)
        for n, i in enumerate(tqdm(queries, desc="round trips")):
            strokes = data.strokes(i)
            for k in np.roll(np.arange(len(names)), n).tolist():
                sent = time.perf_counter()
                await recognize(clients[names[k]], strokes)
                times[names[k]].append((time.perf_counter() - sent) * 1000)
        used = {name: (cpu_seconds(pid) - cpu[name]) * 1000 / len(queries) for name, pid in pids.items()}
    return [
        Timing(name, statistics.median(ms), float(np.percentile(ms, 95)), used[name])
        for name, ms in times.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--samples", type=int, default=10_000, help="stored samples (0: no store)")
    parser.add_argument("--requests", type=int, default=300)
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    data = load_data(args.dataset, args.split, args.source)
    version = Recognizer.load(device="cpu").version
    with tempfile.TemporaryDirectory(prefix="extexify-bench-latency-") as workdir:
        base = Path(workdir) / "base"
        commit = checkout(args.revision, base)
        store = Path(workdir) / "samples.sqlite3"
        if args.samples:
            fill_store(store, data, args.samples, version)
        else:
            store.touch()  # an empty file: a store with no samples
        timings = asyncio.run(compare({commit[:12]: base, "this checkout": ROOT}, data, store, args.requests))
    before, after = timings
    for timing in timings:
        print(timing)
    write_results(
        args.out,
        {
            "what": "extexify/recognizeStrokes round trip, two servers asked in turn over stdio, each on "
            "a copy of one sample store",
            "stored_samples": args.samples,
            "requests": args.requests,
            "timings": [asdict(t) for t in timings],
            "ratio_median": round(after.median_ms / before.median_ms, 3),
            "ratio_server_cpu": round(after.server_cpu_ms_per_request / before.server_cpu_ms_per_request, 3),
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "note": "CPU cores shared with other work while measuring: see load_average_1min",
            },
        },
    )


if __name__ == "__main__":
    main()
