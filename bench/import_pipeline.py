"""Benchmark `extexify-train import`: wall time and peak memory of the full tarball and of the SQL path.

1. The whole shared Detexify tarball -> dataset file.
2. The same drawings as the original Detexify database would hold them (the database-born samples,
   curator-rejected ones included, drawn on a canvas in pixels with synthetic timestamps), written
   as a gzipped plain-SQL dump, then imported with --dsn into a fresh database; then the same dump
   again (nothing new to insert), and the table alone with --dsn.
3. Memory of loading a dump must not grow with the table: the load step alone for dumps of 1x and
   `--scale`x the rows (copies with shifted ids).

Each command runs in its own process; peak memory is that process's maximum resident set size
(`cli_baseline`: what `extexify-train` holds before doing anything, torch included).
Writes bench/results/import_pipeline.json.

    python bench/import_pipeline.py [--data ../shared/data/detexify-source.tar.gz] [--scale 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from record import write_results
from tqdm import tqdm

from training.sources import SourceSample, iter_source_samples, read_source_index
from training.sqldump import SAMPLE_ID_PREFIX

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "detexify-source.tar.gz"
RESULTS = ROOT / "bench" / "results" / "import_pipeline.json"
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
CLI = [sys.executable, "-c", "from training.cli import main; main()"]
LOAD = [sys.executable, "-c", "import sys; from training.sqldump import load_dump; load_dump(*sys.argv[1:])"]
HEADER = """--
-- PostgreSQL database dump (written by bench/import_pipeline.py in pg_dump's plain format)
--

CREATE TABLE public.samples (
    id integer NOT NULL,
    key text,
    strokes json
);

COPY public.samples (id, key, strokes) FROM stdin;
"""


def measure(command: list[str]) -> dict:
    """Run a command; its wall time, peak RSS and the last lines it printed to stderr."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        # The report lines, not the progress bars.
        output = [line for line in log.read().splitlines() if line.strip() and "%|" not in line]
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n" + "\n".join(output))
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "output": output[-8:],
    }


def write_dump(samples: list[SourceSample], keys: dict[str, str], path: Path, copies: int = 1) -> int:
    """A Detexify dump of the samples on a canvas in pixels; `copies` repeats them with shifted ids."""
    rng = np.random.default_rng(0)
    rows = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as dump:
        dump.write(HEADER)
        for copy in range(copies):
            for sample in tqdm(samples, desc=f"writing {path.name} ({copy + 1}/{copies})", unit=" rows"):
                scale, offset = rng.uniform(80, 400), rng.uniform(0, 200, size=2)
                clock = 1_300_000_000_000 + int(rng.integers(0, 10**9))
                strokes = []
                for stroke in sample.strokes:
                    pixels = np.round(stroke[:, :2] * scale + offset, 2).tolist()
                    strokes.append([[x, y, clock + 15 * k] for k, (x, y) in enumerate(pixels)])
                    clock += 15 * len(pixels)
                row_id = int(sample.id.removeprefix(SAMPLE_ID_PREFIX)) + copy * 10_000_000
                # COPY's text format: a backslash (as in legacy keys like `amssymb-OT1-\bigstar`) is doubled.
                key = keys[sample.symbol_id].replace("\\", "\\\\")
                dump.write(f"{row_id}\t{key}\t{json.dumps(strokes, separators=(',', ':'))}\n")
                rows += 1
        dump.write("\\.\n")
    return rows


def new_database_dsn() -> str:
    """A DSN naming a database that does not exist yet (the import creates it)."""
    return psycopg2.extensions.make_dsn(SERVER, dbname=f"extexify_bench_{uuid.uuid4().hex[:8]}")


def drop_database(dsn: str) -> None:
    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = psycopg2.extensions.parse_dsn(dsn)["dbname"]
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scale", type=int, default=3, help="the larger dump has this many copies")
    args = parser.parse_args()
    results: dict[str, object] = {
        "what": "extexify-train import: wall time and peak RSS, each run in its own process",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "note": "2 CPU cores shared with other work while measuring; PostgreSQL on the same machine",
        },
    }
    databases: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        # What the CLI process holds before importing anything (it loads every command's modules).
        results["cli_baseline"] = measure([*CLI, "--version"])
        print("importing the full tarball...")
        results["tarball"] = measure([*CLI, "import", str(args.data), "-o", str(work / "tarball.npz")])

        index = read_source_index(args.data)
        # One legacy key per symbol, in the API form (`amssymb-OT1-_bigstar`) where there is one.
        keys: dict[str, str] = {}
        for key, canonical in index.legacy.known.items():
            if canonical not in keys or "-_" in key:
                keys[canonical] = key
        everything = iter_source_samples(args.data, include_rejected=True)
        samples = [s for s in everything if s.id.startswith(SAMPLE_ID_PREFIX)]
        rows = write_dump(samples, keys, work / "detexify.sql.gz")
        dsn = new_database_dsn()
        databases.append(dsn)
        options = ["--symbols", str(args.data), "--dsn", dsn, "-o", str(work / "sql.npz")]
        dump = str(work / "detexify.sql.gz")
        try:
            print(f"importing a dump of {rows} rows...")
            results["sql_dump"] = {
                "rows": rows,
                "dump_mib": round((work / "detexify.sql.gz").stat().st_size / 2**20, 1),
                "first_import": measure([*CLI, "import", dump, *options]),
                "same_dump_again": measure([*CLI, "import", dump, *options]),
                "database_only": measure([*CLI, "import", *options]),
            }
            print(f"loading dumps of {rows} and {args.scale * rows} rows...")
            write_dump(samples, keys, work / "scaled.sql.gz", copies=args.scale)
            scaling = {}
            for name, copies in (("detexify.sql.gz", 1), ("scaled.sql.gz", args.scale)):
                target = new_database_dsn()
                databases.append(target)
                scaling[f"{copies * rows}_rows"] = measure([*LOAD, str(work / name), target])
            results["load_dump_only"] = scaling
        finally:
            for database in databases:
                drop_database(database)

    write_results(RESULTS, results)


if __name__ == "__main__":
    main()
