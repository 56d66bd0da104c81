"""Benchmark draw-alike groups through `extexify-lsp`: hits counting alternatives, symbols shown, latency.

    python bench/groups.py [--model models] [--dataset data/detexify.npz --split data/split.npz]
        [--source ../shared/data/detexify-source.tar.gz] [--limit-drawings N]

Every drawing of the seed-0 test split goes through a real server process over stdio (without a sample
store: the user's own symbols play no part), with a small article open (its preamble loads amsmath) and
the cursor in math mode, twice: `"groups": false` (exact top-1/5/10 of the flat list) and grouped (hit@1
and hit@5 counting each item's alternatives, the symbols the first item and the first five items show,
whether the label is a member needing no new `\\usepackage` line whenever the group has one, whether every
symbol always comes with the same members, and the round trip).
The dataset and split come from data/ when present, else the source is imported and split with seed 0.
Writes bench/results/groups.json and prints the Markdown table for the READMEs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.lsp.client import LanguageClient
from record import write_results
from tqdm import tqdm

from extexify_lsp.protocol import RECOGNIZE_STROKES, strokes_param
from extexify_lsp.recognizer import default_model_path, metadata_path
from training.dataset import Dataset
from training.sources import import_source
from training.split import Split, make_split

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "groups.json"
DOCUMENT = (
    "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\nLet $x = |$.\n\\end{document}\n"
)
URI = "file:///extexify-bench/groups.tex"
LIMIT = 10  # items asked for, as the pads do; the hits look at the first five


@dataclass(frozen=True)
class Targets:
    """Issue 10's acceptance targets."""

    hit5: float = 0.965
    shown5: float = 9.0
    hit1: float = 0.78
    shown1: float = 2.5
    flat_top1: float = 0.60
    flat_top5: float = 0.93
    median_roundtrip_ms: float = 5.0


@dataclass
class Tally:
    """Counts over the drawings, turned into GroupResults at the end."""

    drawings: int
    flat_rank: list[int] = field(
        default_factory=list
    )  # the true symbol's rank in the flat list; LIMIT if absent
    hit1: int = 0
    hit5: int = 0
    shown1: int = 0
    shown5: int = 0
    with_free_member: int = 0  # items (first five) with a member needing no new \usepackage line
    label_free: int = 0  # ...whose label is such a member
    groups_seen: dict[str, set[frozenset[str]]] = field(default_factory=dict)
    grouped_ms: list[float] = field(default_factory=list)
    flat_ms: list[float] = field(default_factory=list)
    grouped_cpu_ms: float = 0.0  # the server's CPU time per request, all its threads
    flat_cpu_ms: float = 0.0


@dataclass(frozen=True)
class GroupResults:
    drawings: int
    flat_top1: float
    flat_top5: float
    flat_top10: float
    hit1: float  # the true symbol is the first item's label or one of its alternatives
    hit5: float  # ...of one of the first five items
    mean_shown1: float  # symbols the first item shows: its label and alternatives
    mean_shown5: float  # ...the first five items
    label_needs_no_new_package: float  # of the items with such a member, those whose label is one
    items_with_such_a_member: int
    symbols_with_changing_groups: int  # symbols that came with different members in different answers
    median_roundtrip_ms: float  # grouped requests
    p95_roundtrip_ms: float
    median_flat_roundtrip_ms: float
    # The server's CPU time per request: what a request costs when no other process competes for the CPU.
    server_cpu_ms_per_grouped_request: float
    server_cpu_ms_per_flat_request: float


def members(item: dict[str, Any]) -> list[str]:
    return [item["data"]["symbolId"], *(a["symbolId"] for a in item["data"]["alternatives"])]


def count_grouped(tally: Tally, truth: str, items: list[dict[str, Any]]) -> None:
    shown = [members(item) for item in items]
    tally.hit1 += truth in shown[0]
    tally.hit5 += any(truth in m for m in shown[:5])
    tally.shown1 += len(shown[0])
    tally.shown5 += sum(len(m) for m in shown[:5])
    for item in items[:5]:
        # With a preamble, an empty additionalTextEdits is exactly "needs no new \usepackage line".
        free = [not a["additionalTextEdits"] for a in item["data"]["alternatives"]]
        if not item.get("additionalTextEdits") or any(free):
            tally.with_free_member += 1
            tally.label_free += not item.get("additionalTextEdits")
    for group in shown:
        for symbol in group:
            tally.groups_seen.setdefault(symbol, set()).add(frozenset(group))


def summarize(tally: Tally) -> GroupResults:
    ranks = np.array(tally.flat_rank)
    n = tally.drawings
    return GroupResults(
        drawings=n,
        flat_top1=float(np.mean(ranks < 1)),
        flat_top5=float(np.mean(ranks < 5)),
        flat_top10=float(np.mean(ranks < 10)),
        hit1=tally.hit1 / n,
        hit5=tally.hit5 / n,
        mean_shown1=tally.shown1 / n,
        mean_shown5=tally.shown5 / n,
        label_needs_no_new_package=tally.label_free / max(1, tally.with_free_member),
        items_with_such_a_member=tally.with_free_member,
        symbols_with_changing_groups=sum(len(g) > 1 for g in tally.groups_seen.values()),
        median_roundtrip_ms=statistics.median(tally.grouped_ms),
        p95_roundtrip_ms=float(np.percentile(tally.grouped_ms, 95)),
        median_flat_roundtrip_ms=statistics.median(tally.flat_ms),
        server_cpu_ms_per_grouped_request=tally.grouped_cpu_ms,
        server_cpu_ms_per_flat_request=tally.flat_cpu_ms,
    )


def acceptance(results: GroupResults, targets: Targets) -> dict[str, dict[str, object]]:
    """Each target with the measured value and whether it is met."""
    checks = {
        "hit5": (results.hit5, targets.hit5, results.hit5 >= targets.hit5),
        "shown5": (results.mean_shown5, targets.shown5, results.mean_shown5 <= targets.shown5),
        "hit1": (results.hit1, targets.hit1, results.hit1 >= targets.hit1),
        "shown1": (results.mean_shown1, targets.shown1, results.mean_shown1 <= targets.shown1),
        "flat_top1": (results.flat_top1, targets.flat_top1, results.flat_top1 >= targets.flat_top1),
        "flat_top5": (results.flat_top5, targets.flat_top5, results.flat_top5 >= targets.flat_top5),
        "label_needs_no_new_package": (
            results.label_needs_no_new_package,
            1.0,
            results.label_needs_no_new_package == 1.0,
        ),
        "fixed_groups": (results.symbols_with_changing_groups, 0, results.symbols_with_changing_groups == 0),
        "median_roundtrip_ms": (
            results.median_roundtrip_ms,
            targets.median_roundtrip_ms,
            results.median_roundtrip_ms <= targets.median_roundtrip_ms,
        ),
    }
    return {
        name: {"value": value, "target": target, "met": met} for name, (value, target, met) in checks.items()
    }


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, all its threads (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_test_split(dataset_path: Path, split_path: Path, source: Path) -> tuple[Dataset, np.ndarray]:
    """The dataset and its seed-0 test indices: from data/ if there, else imported from the source."""
    if dataset_path.is_file() and split_path.is_file():
        dataset = Dataset.load(dataset_path)
        split = Split.load(split_path, dataset)
    else:
        dataset, _ = import_source(source)
        split = make_split(dataset)
    if split.seed != 0:
        raise SystemExit(f"{split_path} was made with seed {split.seed}; the benchmark uses the seed-0 split")
    return dataset, split.test


async def run(command: list[str], dataset: Dataset, test: np.ndarray) -> Tally:
    client = LanguageClient("extexify-bench", "1", converter_factory=get_converter)
    await client.start_io(*command)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    text = DOCUMENT.replace("|", "")
    offset = DOCUMENT.index("|")
    position = {
        "line": DOCUMENT.count("\n", 0, offset),
        "character": offset - DOCUMENT.rfind("\n", 0, offset) - 1,
    }
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(URI, "latex", 1, text))
    )
    where = {"textDocument": {"uri": URI}, "position": position}
    pid = client._server.pid  # type: ignore[union-attr]
    drawings = [(strokes_param(dataset.drawing(i)), dataset.symbol_id(i)) for i in test.tolist()]
    tally = Tally(drawings=len(drawings))
    # One pass per kind of request, so that the server's CPU time can be told apart.
    for groups in (False, True):
        cpu = cpu_seconds(pid)
        kind = "grouped" if groups else "flat"
        for strokes, truth in tqdm(drawings, desc=f"test drawings, {kind}", unit=" drawings"):
            sent = time.perf_counter()
            answer = await client.protocol.send_request_async(
                RECOGNIZE_STROKES, {"strokes": strokes, "limit": LIMIT, "groups": groups, **where}
            )
            (tally.grouped_ms if groups else tally.flat_ms).append((time.perf_counter() - sent) * 1000)
            if groups:
                count_grouped(tally, truth, answer["items"])
            else:
                ids = [item["data"]["symbolId"] for item in answer["items"]]
                tally.flat_rank.append(ids.index(truth) if truth in ids else LIMIT)
        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / len(drawings)
        if groups:
            tally.grouped_cpu_ms = cpu_ms
        else:
            tally.flat_cpu_ms = cpu_ms
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return tally


def table(results: GroupResults) -> str:
    """The Markdown table for README.md and models/README.md."""
    rows = [
        (
            'flat list (`"groups": false`): exact top-1 / top-5 / top-10',
            f"{results.flat_top1:.3f} / {results.flat_top5:.3f} / {results.flat_top10:.3f}",
        ),
        (
            "groups: hit@1 counting alternatives, symbols in the first item",
            f"{results.hit1:.3f}, {results.mean_shown1:.2f}",
        ),
        (
            "groups: hit@5 counting alternatives, symbols in the first five items",
            f"{results.hit5:.3f}, {results.mean_shown5:.2f}",
        ),
        (
            "label needs no new `\\usepackage` when a member can",
            f"{results.label_needs_no_new_package:.3f} of {results.items_with_such_a_member} items",
        ),
        (
            "median round trip, grouped (flat)",
            f"{results.median_roundtrip_ms:.2f} ms ({results.median_flat_roundtrip_ms:.2f} ms)",
        ),
        (
            "server CPU time per request, grouped (flat)",
            f"{results.server_cpu_ms_per_grouped_request:.2f} ms "
            f"({results.server_cpu_ms_per_flat_request:.2f} ms)",
        ),
    ]
    lines = ["| measure | value |", "| --- | --- |", *(f"| {name} | {value} |" for name, value in rows)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model artifact (default: the shipped model)")
    parser.add_argument("--dataset", type=Path, default=ROOT / "data" / "detexify.npz")
    parser.add_argument("--split", type=Path, default=ROOT / "data" / "split.npz")
    parser.add_argument(
        "--source", type=Path, default=ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"
    )
    parser.add_argument("--limit-drawings", type=int, help="only the first N test drawings (a quick look)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    dataset, test = load_test_split(args.dataset, args.split, args.source)
    if args.limit_drawings is not None:
        test = test[: args.limit_drawings]
    # No sample store: the shipped model and groups alone, whatever the user has taught this machine.
    command = [sys.executable, "-m", "extexify_lsp", "--log-level", "WARNING", "--store", "none"]
    if args.model:
        command += ["--model", str(args.model)]
    model = metadata_path(args.model or default_model_path())
    results = summarize(asyncio.run(run(command, dataset, test)))
    write_results(
        args.out,
        {
            "what": "extexify/recognizeStrokes on the seed-0 test split through extexify-lsp over stdio, "
            "in math mode in an article loading amsmath",
            "model": str(model),
            "results": asdict(results),
            "acceptance": acceptance(results, Targets()),
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "note": "CPU cores shared with other work while measuring: see load_average_1min",
            },
        },
    )
    print(table(results))


if __name__ == "__main__":
    main()
