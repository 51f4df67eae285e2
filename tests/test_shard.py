# SPDX-License-Identifier: GPL-2.0
"""`make test SHARD=I/N`: the shards of the real suite are disjoint, cover
it, keep each file whole and are balanced by a JUnit XML's durations."""

import subprocess
import sys

from micemu.shard import assign, file_of
from micemu.system import TOP


def collect(*args):
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only",
                        "-q", "-p", "no:cacheprovider", *args],
                       cwd=TOP, capture_output=True, text=True, timeout=120)
    ids = [ln for ln in r.stdout.splitlines() if "::" in ln]
    return r, ids


def write_junit(path, seconds_by_file):
    with open(path, "w") as f:
        f.write('<?xml version="1.0"?>\n<testsuites><testsuite>\n')
        for name, sec in seconds_by_file.items():
            cls = name[:-3].replace("/", ".")
            f.write(f'<testcase classname="{cls}" name="t" time="{sec}"/>\n')
        f.write("</testsuite></testsuites>\n")


def test_shards_partition_the_suite(tmp_path):
    r, everything = collect()
    assert r.returncode == 0, r.stderr
    files = sorted({file_of(i) for i in everything})
    assert len(files) > 10
    # made-up durations: one long file, the rest 10..(10 + n) s
    seconds = {f: 10 + k for k, f in enumerate(files)}
    seconds[files[0]] = 500
    junit = tmp_path / "junit.xml"
    write_junit(junit, seconds)

    seen = []
    loads = []
    for i in (1, 2, 3):
        r, ids = collect(f"--shard={i}/3", f"--shard-durations={junit}")
        assert r.returncode == 0, r.stderr
        assert f"shard {i}/3:" in r.stdout
        seen += ids
        loads.append(sum(seconds[f] for f in {file_of(x) for x in ids}))
    assert sorted(seen) == sorted(everything)   # disjoint and complete
    # files stay whole: each file's scenarios all landed in one shard
    assert sum(loads) == sum(seconds.values())
    # LPT: the long file alone in its shard, the others within one file
    assert max(loads) == 500
    rest = sorted(loads)[:2]
    assert rest[1] - rest[0] <= 10 + len(files)


def test_shards_without_durations_split_by_files(tmp_path):
    counts = []
    for i in (1, 2):
        r, ids = collect(f"--shard={i}/2",
                         f"--shard-durations={tmp_path / 'none.xml'}")
        assert r.returncode == 0, r.stderr
        counts.append(len({file_of(x) for x in ids}))
    assert abs(counts[0] - counts[1]) <= 1


def test_bad_shard_is_a_usage_error(tmp_path):
    for spec in ("4/3", "0/2", "a/b", "3"):
        r, ids = collect(f"--shard={spec}")
        assert r.returncode == 4, (spec, r.stdout, r.stderr)   # usage error
        assert "--shard" in r.stderr
        assert not ids
    bad = tmp_path / "junit.xml"
    bad.write_text("not xml")
    r, ids = collect("--shard=1/2", f"--shard-durations={bad}")
    assert r.returncode == 4 and "not a JUnit XML" in r.stderr


def test_assign_is_deterministic_and_greedy():
    files = [f"tests/test_{c}.py" for c in "abcdef"]
    d = {files[0]: 9, files[1]: 7, files[2]: 5, files[3]: 3}
    a = assign(files, d, 2)
    assert a == assign(list(reversed(files)), d, 2)
    load = {1: 0, 2: 0}
    for f, k in a.items():
        load[k] += d.get(f, 6)   # unknown files count as the median, 6
    assert abs(load[1] - load[2]) <= 3
