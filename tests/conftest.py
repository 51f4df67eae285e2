# SPDX-License-Identifier: GPL-2.0
"""pytest fixtures: systems booted for a test or shared by a file, logs in
logs/tests/<test>/ (or logs/tests/<file>[<stack>]/ for a shared system).

Host stacks: a scenario that makes sense for both host personalities
takes the `host_stack` fixture (directly, or through `make_system`,
`system` or `shared` once the file says
`pytestmark = pytest.mark.usefixtures("host_stack")`); it then runs once
per stack, with the ids "micemu" and "upstream", so `-k upstream` selects
the upstream variants.  Without upstream's MIC tree the upstream variants
skip, with the reason upstream_missing() gives."""

import os
import re
import shutil

import pytest

from micemu.build import KTAG
from micemu.system import HOST_STACKS, TOP, System, upstream_missing

# One log tree per guest kernel, so `make test-matrix` keeps both runs' logs.
LOGROOT = os.path.join(TOP, "logs", "tests" + KTAG)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "micemu_only(reason): a scenario that runs on micemu's host "
        "stack only, in a file whose other scenarios run on both")


def pytest_report_header(config):
    why = upstream_missing()
    return [f"upstream host stack: {'skipped: ' + why if why else 'runs'}"]


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.replace("tests/", ""))


def _logdir(request):
    path = os.path.join(LOGROOT, _safe(request.node.nodeid))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def _stack_param(stack):
    why = upstream_missing() if stack == "upstream" else None
    marks = [pytest.mark.skip(reason=why)] if why else []
    return pytest.param(stack, id=stack, marks=marks)


@pytest.fixture(scope="module", params=[_stack_param(s) for s in HOST_STACKS])
def host_stack(request):
    """The host personality a scenario runs on: "micemu" or "upstream"
    (module scope: pytest runs a file's scenarios stack by stack, so a
    shared system per stack is booted once)."""
    return request.param


def _default_stack(request):
    if "host_stack" in request.fixturenames:
        return request.getfixturevalue("host_stack")
    return "micemu"


@pytest.fixture
def logdir(request):
    return _logdir(request)


@pytest.fixture
def make_system(request):
    """Factory: make_system(cards=1, append='', ...) boots a system once per
    test (on the scenario's host stack unless host_stack= is given)."""
    systems = []
    path = _logdir(request)
    stack = _default_stack(request)

    def factory(**kw):
        assert not systems, "one system per test"
        for other in list(SharedSystem.live):
            other.stop()
        kw.setdefault("host_stack", stack)
        s = System(path, **kw)
        systems.append(s)
        return s

    yield factory
    for s in systems:
        trouble = s.kernel_trouble()
        s.shutdown()
        assert not trouble, "kernel trouble in consoles:\n" + "\n".join(trouble)


@pytest.fixture
def system(make_system):
    return make_system()


class SharedSystem:
    """A file's shared system, booted on first use.  A scenario that boots
    a system of its own (make_system) stops it first, so that no more than
    one system runs at a time; the next scenario on it boots it again."""

    live = []

    def __init__(self, path, host_stack, kw):
        self.path, self.host_stack, self.kw = path, host_stack, kw
        self.system = None
        self.boots = 0

    def get(self):
        if self.system is None:
            for other in list(SharedSystem.live):
                other.stop()
            self.boots += 1
            path = self.path if self.boots == 1 else f"{self.path}-{self.boots}"
            shutil.rmtree(path, ignore_errors=True)
            self.system = System(path, host_stack=self.host_stack, **self.kw)
            SharedSystem.live.append(self)
        return self.system

    def stop(self):
        if self.system is not None:
            SharedSystem.live.remove(self)
            self.system.shutdown()
            self.system = None


@pytest.fixture(scope="module")
def shared_system(request, host_stack):
    """One system for the scenarios of a file (per host stack), booted with
    the file's SHARED_SYSTEM keywords (default: one card).  Scenarios on it
    bring their cards into the state they need first (System.ensure_ready,
    ensure_online), so each runs on its own too."""
    kw = dict(getattr(request.module, "SHARED_SYSTEM", {}))
    name = os.path.basename(request.module.__file__)
    holder = SharedSystem(os.path.join(LOGROOT, _safe(f"{name}[{host_stack}]")),
                          host_stack, kw)
    yield holder
    holder.stop()


@pytest.fixture
def shared(shared_system):
    """The file's shared system; the scenario fails on a new BUG, WARNING
    or Oops line in any console."""
    s = shared_system.get()
    before = len(s.kernel_trouble())
    yield s
    trouble = s.kernel_trouble()[before:]
    assert not trouble, "kernel trouble in consoles:\n" + "\n".join(trouble)
