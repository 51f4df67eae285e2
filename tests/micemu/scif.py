# SPDX-License-Identifier: GPL-2.0
"""SCIF messaging helpers (tools/scif-pingpong) for the host <-> card and
card <-> card scenarios."""

import re


def start_pingpong(run, port, kind="-s", log=None):
    """Start a scif-pingpong server (echo; KIND "-d" for a sink) with RUN, a
    (rc, output) runner of one side, unless the one started before on PORT
    still runs; return once it listens."""
    log = log or f"/tmp/pingpong-{port}.log"
    pid = f"/tmp/pingpong-{port}.pid"
    rc, out = run(f"kill -0 $(cat {pid} 2>/dev/null) 2>/dev/null || "
                  f"{{ scif-pingpong {kind} -p {port} >{log} 2>&1 & echo $! >{pid}; }}; "
                  f"for i in $(seq 100); do grep -q 'server on port {port}' {log} && exit 0; "
                  f"sleep 0.1; done; cat {log}; exit 1")
    assert rc == 0, f"scif-pingpong server on port {port} did not start:\n{out}"


def pingpong(run, node, port, size, count, timeout=600):
    """COUNT messages of SIZE bytes echoed by NODE's server on PORT, every
    byte checked by scif-pingpong."""
    rc, out = run(f"scif-pingpong -c {node} -p {port} -n {count} -S {size}", timeout)
    assert rc == 0, out
    assert re.search(rf"{count} x {size} bytes to node {node} port {port}: ok", out), out
    return out


def start_server(side_ok, port, kind="-s", log="/tmp/pingpong-server.log"):
    """Start a scif-pingpong server with SIDE_OK (a runner that asserts
    success) and return once it listens (a fresh one, on a port nothing
    listens on yet)."""
    side_ok(f"scif-pingpong {kind} -p {port} >{log} 2>&1 & "
            f"for i in $(seq 100); do grep -q 'server on port' {log} && break; "
            f"sleep 0.1; done; cat {log}; grep -q 'server on port {port}' {log}")
