"""Benchmark `extexify/recognizeStrokes` through a real LSP client over stdio.

Measures start-up to first answer (and, for scale, how long `import torch` takes right now), the
round trip of one request at a time (median, p95), 1,000 requests sent without waiting (all
answered, in id order?), and the server's resident memory. Drawings are real ones from the shared
Detexify tarball. Writes bench/results/lsp_roundtrip.json and a histogram, lsp_roundtrip.png.

    python bench/lsp_roundtrip.py [--data ../shared/data/detexify-source.tar.gz] [--model models/]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.lsp.client import LanguageClient
from record import write_results
from tqdm import tqdm

from extexify_lsp.protocol import RECOGNIZE_STROKES, strokes_param
from extexify_lsp.recognizer import default_model_path, metadata_path
from training.sources import iter_source_samples

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"
RESULTS = ROOT / "bench" / "results" / "lsp_roundtrip.json"
# Common symbols of different complexity: what users typically draw.
SYMBOLS = [
    "latex:latex2e:alpha",
    "latex:latex2e:sum",
    "latex:latex2e:int",
    "latex:latex2e:rightarrow",
    "latex:amssymb:leqslant",
    "latex:latex2e:infty",
    "latex:latex2e:partial",
    "latex:latex2e:nabla",
    "latex:latex2e:otimes",
    "latex:latex2e:forall",
]


def resident_mib(pid: int) -> float:
    """VmRSS of a process, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def import_seconds(module: str) -> float:
    """How long a fresh Python takes to import `module`: the machine's speed (and load) right now."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


async def first_answer(command: list[str], drawing: list[list[list[float]]]) -> float:
    """Seconds from starting the server process to the first recognizeStrokes answer."""
    client = LanguageClient("extexify-bench", "1", converter_factory=get_converter)
    started = time.perf_counter()
    await client.start_io(*command)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    await client.protocol.send_request_async(RECOGNIZE_STROKES, {"strokes": drawing})
    seconds = time.perf_counter() - started
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return seconds


async def run(args: argparse.Namespace) -> tuple[dict[str, object], list[float]]:
    """The results, and every one-at-a-time round trip in ms."""
    drawings = [
        strokes_param(s.strokes) for s in iter_source_samples(args.data, SYMBOLS) if len(s.strokes) > 0
    ]
    points = [sum(len(stroke) for stroke in d) for d in drawings]
    # No sample store: the user's own (and its size) would change what is measured; bench/personal.py
    # measures stores.
    command = [sys.executable, "-m", "extexify_lsp", "--log-level", "WARNING", "--store", "none"]
    if args.model:
        command += ["--model", str(args.model)]

    startups = [
        await first_answer(command, drawings[0]) for _ in tqdm(range(args.startups), desc="start-ups")
    ]
    torch_imports = [import_seconds("torch") for _ in range(args.startups)]

    client = LanguageClient("extexify-bench", "1", converter_factory=get_converter)
    await client.start_io(*command)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    assert client._server is not None  # start_io started it
    pid = client._server.pid

    for drawing in drawings[: args.warmup]:
        await client.protocol.send_request_async(RECOGNIZE_STROKES, {"strokes": drawing})
    rss_after_warmup = resident_mib(pid)

    times = []
    for i in tqdm(range(args.requests), desc="one at a time", unit="req"):
        drawing = drawings[i % len(drawings)]
        sent = time.perf_counter()
        result = await client.protocol.send_request_async(RECOGNIZE_STROKES, {"strokes": drawing})
        times.append((time.perf_counter() - sent) * 1000)
        assert len(result["items"]) == 10

    order: list[int] = []
    futures = []
    sent = time.perf_counter()
    progress = tqdm(total=args.pipelined, desc="pipelined", unit="req")
    for i in range(args.pipelined):
        future = client.protocol.send_request(
            RECOGNIZE_STROKES, {"strokes": drawings[i % len(drawings)]}, msg_id=f"pipelined-{i}"
        )

        def answered_in_turn(_: object, i: int = i) -> None:
            order.append(i)
            progress.update()

        future.add_done_callback(answered_in_turn)
        futures.append(asyncio.wrap_future(future))
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    pipelined_seconds = time.perf_counter() - sent
    progress.close()
    answered = [o for o in outcomes if isinstance(o, dict) and len(o["items"]) == 10]
    rss_after_pipelined = resident_mib(pid)

    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()

    results: dict[str, object] = {
        "what": "extexify/recognizeStrokes round trip through pygls' LanguageClient over stdio, no store",
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "note": "CPU cores shared with other work while measuring: see load_average_1min",
            "import_torch_s": {
                "median": round(statistics.median(torch_imports), 3),
                "min": round(min(torch_imports), 3),
            },
        },
        "model": str(metadata_path(args.model or default_model_path())),
        "drawings": {"count": len(drawings), "symbols": SYMBOLS, "median_points": statistics.median(points)},
        "startup_to_first_answer_s": {
            "runs": len(startups),
            "median": round(statistics.median(startups), 3),
            "min": round(min(startups), 3),
            "max": round(max(startups), 3),
        },
        "roundtrip_ms": {
            "requests": len(times),
            "median": round(statistics.median(times), 3),
            "p95": round(float(np.percentile(times, 95)), 3),
            "p99": round(float(np.percentile(times, 99)), 3),
            "min": round(min(times), 3),
            "max": round(max(times), 3),
        },
        "pipelined": {
            "sent": args.pipelined,
            "answered": len(answered),
            "in_id_order": order == list(range(args.pipelined)),
            "seconds": round(pipelined_seconds, 3),
            "requests_per_s": round(args.pipelined / pipelined_seconds, 1),
        },
        "server_rss_mib": {
            "after_warmup": round(rss_after_warmup, 1),
            "after_pipelined": round(rss_after_pipelined, 1),
        },
    }
    return results, times


def plot_roundtrips(times: list[float], path: Path) -> None:
    """A histogram of round-trip times with the median and p95 marked."""
    median, p95 = statistics.median(times), float(np.percentile(times, 95))
    figure, axes = plt.subplots(figsize=(7, 3.5), layout="constrained")
    axes.hist(times, bins=np.geomspace(min(times), max(times), 60).tolist(), color="#4c72b0")
    axes.set_xscale("log")
    for value, label, style in ((median, "median", "-"), (p95, "p95", "--")):
        axes.axvline(value, color="black", linestyle=style, label=f"{label} {value:.1f} ms")
    axes.set(
        xlabel="round trip (ms, log scale)", ylabel="requests", title="extexify/recognizeStrokes over stdio"
    )
    axes.legend()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the Detexify source tarball")
    parser.add_argument("--model", type=Path, help="model artifact (default: the shipped model)")
    parser.add_argument("--startups", type=int, default=5, help="fresh server processes to time")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--pipelined", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not args.data.is_file():
        parser.error(f"{args.data} is missing: pass --data with the Detexify source tarball")
    results, times = asyncio.run(run(args))
    write_results(args.out, results)
    plot_roundtrips(times, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
