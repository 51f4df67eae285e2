# SPDX-License-Identifier: GPL-2.0
"""Splitting the suite across machines: `make test SHARD=I/N`.

The unit is a test file: a file's scenarios often share one booted system
(per host stack), so splitting a file would boot it twice.  Files are dealt
to N shards longest first, each to the shard with the least work so far
(LPT), by the durations a JUnit XML of an earlier run recorded
(.ci/durations.xml, a `make test`'s logs/junit.xml committed; refresh it
when the suite changes much); a file the XML does not know counts as the
median of the known ones, or 1 when there is no XML at all (then the split
is by file count).  Every machine of a fleet computes the same split from
the same XML and the same checkout, so the shards are disjoint and cover
the suite.
"""

import os
import statistics
import xml.etree.ElementTree as ET


class ShardError(ValueError):
    pass


def parse_shard(text):
    """'I/N' -> (I, N) with 1 <= I <= N."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ShardError(f"--shard wants I/N (e.g. 2/3), not {text!r}") \
            from None
    if n < 1 or not 1 <= i <= n:
        raise ShardError(f"--shard {text}: need 1 <= I <= N")
    return i, n


def file_of(nodeid):
    """The test file of a pytest node id ('tests/test_x.py::t[a]')."""
    return nodeid.split("::", 1)[0]


def junit_durations(path, top):
    """Seconds per test file (relative to the tree at top) from a pytest
    JUnit XML; {} if there is none.

    pytest writes classname 'tests.test_x' (or 'tests.test_x.Class') and
    the file attribute only sometimes; the file is recovered from the
    classname by trying ever shorter prefixes against the tree."""
    if not path or not os.path.exists(path):
        return {}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ShardError(f"{path}: not a JUnit XML ({e})") from None
    out = {}
    for case in root.iter("testcase"):
        f = case.get("file") or _file_from_classname(case.get("classname", ""),
                                                     top)
        if f:
            out[f] = out.get(f, 0.0) + float(case.get("time") or 0.0)
    return out


def _file_from_classname(classname, top):
    parts = classname.split(".")
    for k in range(len(parts), 0, -1):
        rel = "/".join(parts[:k]) + ".py"
        if os.path.exists(os.path.join(top, rel)):
            return rel
    return None


def assign(files, durations, n):
    """{file: shard index 1..n}, longest file first to the least loaded
    shard; ties broken by name and shard number, so every machine agrees."""
    known = [durations[f] for f in files if f in durations]
    default = statistics.median(known) if known else 1.0
    load = [0.0] * n
    out = {}
    for f in sorted(files, key=lambda f: (-durations.get(f, default), f)):
        k = min(range(n), key=lambda j: (load[j], j))
        load[k] += durations.get(f, default)
        out[f] = k + 1
    return out
