# SPDX-License-Identifier: GPL-2.0
"""pytest hooks for the whole tree (pytest.ini).

The component suites (qemu-mic-device/tests, card-firmware-sim/tests) skip
a case whose QEMU, micfw or kernel is not built, which is right when a
developer runs one by hand.  Under `make test` (MICEMU_NO_SKIP=1)
everything has been built, so such a skip hides a failure: it is reported
as one.

`--shard I/N` (`make test SHARD=I/N`) runs the I-th of N parts of the
suite, split by test file and balanced by an earlier run's JUnit XML
(tests/micemu/shard.py), for a fleet of CI machines.
"""
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COMPONENT_DIRS = tuple(os.path.join(HERE, d) + os.sep for d in (
    "qemu-mic-device", "card-firmware-sim"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if (rep.skipped and os.environ.get("MICEMU_NO_SKIP") and
            str(item.path).startswith(COMPONENT_DIRS)):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else \
            str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = ("skipped under make test, where everything it needs "
                        "is built: " + reason)


def pytest_addoption(parser):
    parser.addoption("--shard", metavar="I/N",
                     help="run only the I-th of N parts of the suite (split "
                     "by test file, balanced by --shard-durations=; give "
                     "both as --opt=value)")
    parser.addoption("--shard-durations", metavar="JUNIT_XML",
                     default=os.path.join(HERE, ".ci", "durations.xml"),
                     help="JUnit XML of an earlier run whose durations "
                     "balance the shards (default: .ci/durations.xml, the "
                     "same on every machine; absent: split by file count)")


def pytest_configure(config):
    spec = config.getoption("--shard")
    if not spec:
        return
    # tests/ is on sys.path once pytest.ini's pythonpath has been applied,
    # which is after this file is imported
    from micemu.shard import ShardError, junit_durations, parse_shard
    try:
        config._micemu_shard = parse_shard(spec) + (junit_durations(
            config.getoption("--shard-durations"), str(config.rootpath)),)
    except ShardError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_collection_modifyitems(config, items):
    if not getattr(config, "_micemu_shard", None):
        return
    from micemu.shard import assign, file_of
    i, n, durations = config._micemu_shard
    shard = assign({file_of(it.nodeid) for it in items}, durations, n)
    keep = [it for it in items if shard[file_of(it.nodeid)] == i]
    drop = [it for it in items if shard[file_of(it.nodeid)] != i]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
    files = sorted({file_of(it.nodeid) for it in keep})
    recorded = sum(durations.get(f, 0.0) for f in files)
    config._micemu_shard_line = (f"shard {i}/{n}: {len(files)} files, "
                                 f"{len(keep)} scenarios, {recorded:.0f} s "
                                 "in the durations file")


def pytest_report_collectionfinish(config, start_path, items):
    line = getattr(config, "_micemu_shard_line", None)
    return [line] if line else []
