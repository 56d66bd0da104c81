"""Benchmark positioned requests on pathological documents, and memory over opening and closing big ones.

Through a real server over stdio: the round trip of `extexify/recognizeStrokes` with a position,
`textDocument/completion` and `textDocument/hover` on a small document, on a 192 KB preamble of 16,000
unclosed `\\usepackage[`, and on 20 MB paragraphs (many lines; one line), cursor at the end. Then the
server's resident memory while eight 20 MB documents are opened and closed, cycle after cycle. The
client declares no capabilities (everything inline); completion on the small document is also timed
for clients declaring VS Code's and Neovim's capabilities, each against a server of its own.
Writes bench/results/documents.json.

    python bench/documents.py [--requests 20] [--cycles 4] [--model models/]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import numpy as np
from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.lsp.client import LanguageClient
from pytest_lsp import client_capabilities
from record import write_results
from tqdm import tqdm

from extexify_lsp.protocol import RECOGNIZE_STROKES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "documents.json"
LEQ = [[[0, 0], [90, 45], [0, 90]], [[0, 120], [90, 120]]]
# Editors whose declared capabilities shape the completion list (pytest-lsp's recorded sets).
EDITORS = ("visual-studio-code", "neovim")
# The cursor ends each document, after a partial command in math mode.
ENDING = "$x \\le"
PARAGRAPH_LINE = "Some words, a formula $x + y^2$ and \\alpha in text, then more words.\n"
MIB = 2**20


def documents() -> dict[str, str]:
    """The benchmark documents, by name; each ends with ENDING at the cursor."""
    lines = PARAGRAPH_LINE * (20 * MIB // len(PARAGRAPH_LINE))
    return {
        "small": "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\nText.\n\n" + ENDING,
        "preamble_16000_unclosed_usepackage": "\\documentclass{article}\n"
        + "\\usepackage[" * 16_000
        + "\n\\begin{document}\n"
        + ENDING,
        "paragraph_20mb_lines": lines + ENDING,
        "paragraph_20mb_one_line": lines.replace("\n", " ") + ENDING,
    }


def end_position(text: str) -> types.Position:
    """The position of the end of `text` (ASCII), in UTF-16 code units."""
    return types.Position(line=text.count("\n"), character=len(text) - (text.rfind("\n") + 1))


def at(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def resident_mib(pid: int) -> float:
    """VmRSS of a process, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def summary(times: list[float]) -> dict[str, float]:
    return {
        "first": round(times[0], 2),
        "median": round(statistics.median(times), 2),
        "p95": round(float(np.percentile(times, 95)), 2),
        "max": round(max(times), 2),
    }


async def timed(request: Callable[[], Awaitable[object]], count: int) -> list[float]:
    """Milliseconds per round trip of `count` requests, one at a time."""
    times = []
    for _ in range(count):
        sent = time.perf_counter()
        await request()
        times.append((time.perf_counter() - sent) * 1000)
    return times


def open_document(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, language_id="latex", version=1, text=text)
        )
    )


async def positioned_requests(client: LanguageClient, count: int) -> dict[str, object]:
    """Round trips on each document, milliseconds."""
    results: dict[str, object] = {}
    for name, text in tqdm(documents().items(), desc="documents"):
        uri = f"file:///bench/{name}.tex"
        open_document(client, uri, text)
        position = end_position(text)
        document = types.TextDocumentIdentifier(uri)
        hover_at = types.Position(position.line, position.character - 1)
        recognize = {"strokes": LEQ, "textDocument": {"uri": uri}, "position": at(position)}
        # The first request also waits for the document to arrive and be read: reported on its own.
        send_recognize = partial(client.protocol.send_request_async, RECOGNIZE_STROKES, recognize)
        (opened_ms,) = await timed(send_recognize, 1)
        requests = {
            "recognizeStrokes": send_recognize,
            "completion": partial(
                client.text_document_completion_async, types.CompletionParams(document, position)
            ),
            "hover": partial(client.text_document_hover_async, types.HoverParams(document, hover_at)),
        }
        times = {method: await timed(send, count) for method, send in requests.items()}
        client.text_document_did_close(types.DidCloseTextDocumentParams(document))
        results[name] = {
            "chars": len(text),
            "didOpen_then_recognizeStrokes": round(opened_ms, 2),
            **{method: summary(t) for method, t in times.items()},
        }
    return results


async def memory_cycles(client: LanguageClient, pid: int, cycles: int) -> dict[str, object]:
    """Resident memory before and after each cycle of opening and closing eight 20 MB documents."""
    base = PARAGRAPH_LINE * (20 * MIB // len(PARAGRAPH_LINE))
    before = resident_mib(pid)
    after = []
    for cycle in tqdm(range(cycles), desc="memory cycles"):
        uris = [f"file:///bench/memory-{cycle}-{i}.tex" for i in range(8)]
        for i, uri in enumerate(uris):
            # Different texts each time: nothing may stay alive by being equal to what came before.
            text = base + f"{cycle} {i} " + ENDING
            open_document(client, uri, text)
            params = {"strokes": LEQ, "textDocument": {"uri": uri}, "position": at(end_position(text))}
            await client.protocol.send_request_async(RECOGNIZE_STROKES, params)
        for uri in uris:
            client.text_document_did_close(
                types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
            )
        # Answered after the closes are handled (messages are handled in order).
        await client.protocol.send_request_async(RECOGNIZE_STROKES, {"strokes": LEQ})
        after.append(resident_mib(pid))
    return {
        "documents_per_cycle": 8,
        "document_mib": round(len(base) / MIB, 1),
        "rss_mib_before": round(before, 1),
        "rss_mib_after_each_cycle": [round(a, 1) for a in after],
        "growth_mib_per_cycle_after_the_first": round((after[-1] - after[0]) / max(1, cycles - 1), 1),
    }


async def small_completion(client: LanguageClient, count: int) -> dict[str, float]:
    """Completion round trips on the small document, milliseconds."""
    text = documents()["small"]
    uri = "file:///bench/small-completion.tex"
    open_document(client, uri, text)
    params = types.CompletionParams(types.TextDocumentIdentifier(uri), end_position(text))
    return summary(await timed(partial(client.text_document_completion_async, params), count))


async def started(args: argparse.Namespace, capabilities: types.ClientCapabilities) -> LanguageClient:
    """A client of a new server process, initialized with `capabilities`."""
    command = [sys.executable, "-m", "extexify_lsp", "--log-level", "WARNING"]
    if args.model:
        command += ["--model", str(args.model)]
    client = LanguageClient("extexify-bench", "1", converter_factory=get_converter)
    await client.start_io(*command)
    await client.initialize_async(types.InitializeParams(capabilities=capabilities))
    client.initialized(types.InitializedParams())
    return client


async def stopped(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


async def run(args: argparse.Namespace) -> dict[str, object]:
    client = await started(args, types.ClientCapabilities())
    assert client._server is not None  # start_io started it
    pid = client._server.pid
    round_trips = await positioned_requests(client, args.requests)
    memory = await memory_cycles(client, pid, args.cycles)
    await stopped(client)
    by_editor = {}
    for editor in tqdm(EDITORS, desc="editors"):
        client = await started(args, client_capabilities(editor))
        by_editor[editor] = await small_completion(client, args.requests)
        await stopped(client)
    return {
        "what": "positioned requests on pathological documents, and memory over big documents, over stdio",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "note": "CPU cores shared with other work while measuring: see load_average_1min",
        },
        "requests_per_method": args.requests,
        "round_trip_ms": round_trips,
        "small_completion_ms_by_editor_capabilities": by_editor,
        "memory": memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="round trips per method and document")
    parser.add_argument(
        "--cycles", type=int, default=4, help="open-and-close cycles of eight 20 MB documents"
    )
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    write_results(args.out, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
