"""Cold start of each handler against bare boto3: `python -m bench.cold_start` from the repo root.

Every measurement is a fresh Python process running a tiny driver: it imports the local runtime
(as Lambda's bootstrap is loaded before the function), then times
  init   = `load_function_module(<code dir>)`: the import of app.py and its module-level work,
  first  = the first invocation (settings, the DynamoDB client, one real request),
  second = a second invocation (warm),
against two baselines: an app.py that is only `import boto3`, and one that also makes a DynamoDB
client at import and writes one item on its first invocation. DynamoDB is a stub HTTP server in
this process (AWS_ENDPOINT_URL_DYNAMODB), so first invocations run botocore's whole request path
(serialise, sign, connect, parse) with loopback instead of network latency.

Runs are interleaved (boto3, boto3+client, ingest, query, ..., boto3, ...) so machine noise hits
every variant alike; medians are reported. Bytecode: by default every module has its .pyc (as
in the dev venv), the like-for-like comparison. Layer-as-built rows drop the .pyc of
site-packages and the repo, as shared/Makefile ships the layer today (it deletes __pycache__;
/opt is read-only, so Lambda compiles every module on every cold start).

Figures are printed, never asserted. Target (issue #2): each handler's init <= 2x bare boto3.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from bench import FUNCTION_ENV, ROOT, lambda_environment, machine_summary, median, table

TARGET_RATIO = 2.0
MARK_LOAD = "bench-cold-start: load"
MARK_LOADED = "bench-cold-start: loaded"

# Runs in a fresh interpreter. Imports only what a Lambda bootstrap has loaded before the function.
DRIVER = textwrap.dedent(
    f"""
    import json, sys, time
    root, code_dir, request_file, result_file = sys.argv[1:5]
    sys.path.insert(0, root)
    from local.lambda_runtime import LambdaContext, load_function_module
    print({MARK_LOAD!r}, file=sys.stderr, flush=True)
    t0 = time.perf_counter_ns()
    module = load_function_module(code_dir, module_name="app")
    t1 = time.perf_counter_ns()
    print({MARK_LOADED!r}, file=sys.stderr, flush=True)
    with open(request_file) as source:
        request = json.load(source)
    context = LambdaContext(function_name="bench")
    t2 = time.perf_counter_ns()
    first = module.lambda_handler(request, context)
    t3 = time.perf_counter_ns()
    second = module.lambda_handler(request, LambdaContext(function_name="bench"))
    t4 = time.perf_counter_ns()
    with open(result_file, "w") as sink:
        json.dump({{"init": t1 - t0, "first": t3 - t2, "second": t4 - t3,
                   "status": [first.get("statusCode"), second.get("statusCode")]}}, sink)
    """
)

BOTO3_APP = '''\
"""Baseline: a handler that only imports boto3."""
import boto3  # noqa: F401


def lambda_handler(event, context):
    return {"statusCode": 200, "body": "ok"}
'''

BOTO3_CLIENT_APP = '''\
"""Baseline: boto3, a DynamoDB client made at import, one write per invocation."""
import os

import boto3

client = boto3.client("dynamodb")


def lambda_handler(event, context):
    client.batch_write_item(
        RequestItems={
            os.environ["EVENTS_TABLE_NAME"]: [
                {"PutRequest": {"Item": {"pk": {"S": "EV#0"}, "sk": {"S": "2026-11-25T00:00:00.000000Z#x"}}}}
            ]
        }
    )
    return {"statusCode": 200, "body": "ok"}
'''


# A DynamoDB that answers at once ------------------------------------------------------


class _DynamoStub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: with Nagle on, a keep-alive client waits 40 ms for them.
    disable_nagle_algorithm = True
    answers: ClassVar[dict[str, dict[str, Any]]] = {
        "DynamoDB_20120810.BatchWriteItem": {"UnprocessedItems": {}},
        "DynamoDB_20120810.Query": {"Count": 0, "ScannedCount": 0, "Items": []},
    }

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(self.answers.get(self.headers.get("X-Amz-Target", ""), {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def dynamodb_stub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DynamoStub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# Variants -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    name: str
    code_dir: Path
    function: str
    request: dict[str, Any]
    bytecode: str = "all"  # "all": every module has its .pyc; "stdlib": only the standard library's
    tracing: bool = False


@dataclass
class Runs:
    init: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    second: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def _requests() -> tuple[dict[str, Any], dict[str, Any]]:
    sys.path.insert(0, str(ROOT))
    from bench.ingest_handler import AUTHORIZER, HEADERS, bash_event
    from local.apigw import http_api_event

    post = http_api_event(
        "POST",
        "/api/claude-events",
        body=json.dumps(bash_event(0), separators=(",", ":")),
        headers=HEADERS,
        stage="v1",
        authorizer=AUTHORIZER,
    )
    get = http_api_event(
        "GET",
        "/api/claude-events",
        query="limit=100",
        headers={"authorization": "Bearer ce_bench_not_a_real_token"},
        stage="v1",
        authorizer={"lambda": {"tokenName": "dashboard", "scopes": ["read"]}},
    )
    return post, get


def variants(work: Path) -> tuple[list[Variant], list[Variant]]:
    """(the interleaved variants, the ones -X importtime lists)."""
    post, get = _requests()
    boto3_dir, client_dir = work / "boto3", work / "boto3_client"
    for directory, source in ((boto3_dir, BOTO3_APP), (client_dir, BOTO3_CLIENT_APP)):
        directory.mkdir()
        (directory / "app.py").write_text(source, encoding="utf-8")
    ingest_dir, query_dir = ROOT / "functions" / "ingest", ROOT / "functions" / "query"
    boto3_only = Variant("boto3 (import boto3)", boto3_dir, "baseline", post)
    boto3_client = Variant("boto3 + DynamoDB client", client_dir, "baseline", post)
    ingest = Variant("ingest", ingest_dir, "ingest", post)
    query = Variant("query", query_dir, "query", get)
    timed = [
        boto3_only,
        boto3_client,
        ingest,
        query,
        Variant("ingest, tracing on (as deployed)", ingest_dir, "ingest", post, tracing=True),
        Variant("ingest, layer without .pyc (as built today)", ingest_dir, "ingest", post, bytecode="stdlib"),
        Variant("query, layer without .pyc (as built today)", query_dir, "query", get, bytecode="stdlib"),
    ]
    return timed, [boto3_only, ingest, query]


# Running ------------------------------------------------------------------------------


def _environment(variant: Variant, endpoint: str, pycache: Path, write_bytecode: bool) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **FUNCTION_ENV,
        **lambda_environment(f"claude-events-{variant.function}", variant.code_dir),
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "PYTHONPYCACHEPREFIX": str(pycache),
    }
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if variant.tracing:
        # As in Lambda with Tracing: Active. Segments go by UDP to 127.0.0.1:2000, where nothing listens.
        del env["POWERTOOLS_TRACE_DISABLED"]
        env["_X_AMZN_TRACE_ID"] = "Root=1-67441234-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
        env["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
    return env


def run_once(
    variant: Variant,
    work: Path,
    endpoint: str,
    pycache: Path,
    *,
    write_bytecode: bool = False,
    importtime: bool = False,
) -> tuple[dict[str, Any], float, str]:
    """One fresh process: (the driver's timings, wall ns from spawn to exit, its stderr)."""
    request_file, result_file = work / "request.json", work / "result.json"
    request_file.write_text(json.dumps(variant.request), encoding="utf-8")
    result_file.unlink(missing_ok=True)
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", DRIVER]
    command += [str(ROOT), str(variant.code_dir), str(request_file), str(result_file)]
    started = time.perf_counter_ns()
    process = subprocess.run(
        command,
        env=_environment(variant, endpoint, pycache, write_bytecode),
        cwd=str(variant.code_dir),
        stdout=subprocess.DEVNULL,  # the handlers' JSON logs and EMF metrics
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    wall = time.perf_counter_ns() - started
    if process.returncode != 0 or not result_file.exists():
        raise SystemExit(f"{variant.name}: the driver failed ({process.returncode}):\n{process.stderr[-3000:]}")
    result = json.loads(result_file.read_text(encoding="utf-8"))
    expected = 201 if variant.function == "ingest" else 200
    if result["status"] != [expected, expected]:
        raise SystemExit(f"{variant.name}: the handler answered {result['status']}:\n{process.stderr[-3000:]}")
    return result, wall, process.stderr


def prepare_bytecode(timed: list[Variant], work: Path, endpoint: str) -> dict[str, Path]:
    """Two .pyc trees: every module's, and the standard library's only (the layer as shipped)."""
    every = work / "pyc-all"
    every.mkdir()
    for variant in timed:
        run_once(variant, work, endpoint, every, write_bytecode=True)
    stdlib_only = work / "pyc-stdlib"
    shutil.copytree(every, stdlib_only)
    paths = sysconfig.get_paths()
    for source in {str(ROOT), paths["purelib"], paths["platlib"]}:
        shutil.rmtree(stdlib_only / Path(source).relative_to("/"), ignore_errors=True)
    return {"all": every, "stdlib": stdlib_only}


# Reporting ----------------------------------------------------------------------------


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def import_costs(stderr: str, top: int = 15) -> str:
    """The -X importtime lines between the driver's marks: costliest imports and packages."""
    lines = stderr.splitlines()
    start, end = lines.index(MARK_LOAD), lines.index(MARK_LOADED)
    entries = []
    for line in lines[start + 1 : end]:
        match = _IMPORT_LINE.match(line)
        if match:
            own, cumulative, indent, name = match.groups()
            entries.append((name, int(own), int(cumulative), len(indent) // 2))
    total = sum(cumulative for _, _, cumulative, depth in entries if depth == 0)
    by_cumulative = sorted(entries, key=lambda entry: entry[2], reverse=True)[:top]
    rows = [
        [f"{cumulative / 1e3:.1f}", f"{own / 1e3:.1f}", f"{100 * cumulative / total:.0f}%", str(depth), name]
        for name, own, cumulative, depth in by_cumulative
    ]
    packages: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for name, own, _, _ in entries:
        packages[name.split(".")[0]] += own
        counts[name.split(".")[0]] += 1
    package_rows = [
        [f"{own / 1e3:.1f}", f"{100 * own / total:.0f}%", str(counts[name]), name]
        for name, own in sorted(packages.items(), key=lambda item: item[1], reverse=True)[:12]
    ]
    return (
        f"all imports: {total / 1e3:.1f} ms, {len(entries)} modules\n\n"
        + table(["cumulative ms", "own ms", "share", "depth", "module"], rows)
        + "\n\nOwn time by top-level package:\n\n"
        + table(["own ms", "share", "modules", "package"], package_rows)
    )


def _ms(values: list[float]) -> str:
    return f"{median(values) / 1e6:.1f}"


def report(timed: list[Variant], runs: dict[str, Runs]) -> None:
    base, client = runs[timed[0].name], runs[timed[1].name]
    base_init = median(base.init)
    client_total = median([i + f for i, f in zip(client.init, client.first, strict=True)])
    rows = []
    for variant in timed:
        r = runs[variant.name]
        paired = sorted(i / b for i, b in zip(r.init, base.init, strict=True))
        total = median([i + f for i, f in zip(r.init, r.first, strict=True)])
        rows.append(
            [
                variant.name,
                _ms(r.init),
                f"{median(r.init) / base_init:.2f}x ({paired[0]:.2f}-{paired[-1]:.2f})",
                _ms(r.first),
                f"{total / 1e6:.1f}",
                f"{total / client_total:.2f}x",
                _ms(r.second),
                _ms(r.wall),
            ]
        )
    headers = [
        "variant",
        "init ms",
        "init / boto3 (per-run range)",
        "1st invoke ms",
        "init + 1st ms",
        "(init + 1st) / boto3+client",
        "2nd invoke ms",
        "process wall ms",
    ]
    print(table(headers, rows))
    print()
    for variant in timed[2:4]:
        ratio = median(runs[variant.name].init) / base_init
        verdict = "MET" if ratio <= TARGET_RATIO else "MISSED"
        print(f"Target: {variant.name} init <= {TARGET_RATIO:g}x bare boto3: {ratio:.2f}x -> {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per variant (default 7, at least 7)")
    options = parser.parse_args()
    runs_per_variant = max(7, options.runs)

    print("# Cold start: import + init of each handler, in fresh processes")
    print(f"machine: {machine_summary()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    print(f"{runs_per_variant} runs per variant, interleaved; medians\n")

    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as temporary, dynamodb_stub() as endpoint:
        work = Path(temporary)
        timed, listed = variants(work)
        pycache = prepare_bytecode(timed, work, endpoint)
        runs: dict[str, Runs] = {variant.name: Runs() for variant in timed}
        for round_number in range(runs_per_variant):
            print(f"\rround {round_number + 1}/{runs_per_variant}", end="", file=sys.stderr, flush=True)
            for variant in timed:
                result, wall, _ = run_once(variant, work, endpoint, pycache[variant.bytecode])
                r = runs[variant.name]
                r.init.append(result["init"])
                r.first.append(result["first"])
                r.second.append(result["second"])
                r.wall.append(wall)
        print(file=sys.stderr)
        report(timed, runs)

        for variant in listed:
            _, _, stderr = run_once(variant, work, endpoint, pycache["all"], importtime=True)
            print(f"\n## python -X importtime: {variant.name} (one run, .pyc present)\n")
            print(import_costs(stderr))


if __name__ == "__main__":
    main()
