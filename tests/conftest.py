# SPDX-License-Identifier: GPL-2.0
"""pytest fixtures: every test boots its own system, logs in logs/tests/<test>/."""

import os
import re
import shutil

import pytest

from micemu.system import TOP, System

LOGROOT = os.path.join(TOP, "logs", "tests")


def _logdir(request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.replace("tests/", ""))
    path = os.path.join(LOGROOT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


@pytest.fixture
def logdir(request):
    return _logdir(request)


@pytest.fixture
def make_system(request):
    """Factory: make_system(cards=1, append='', ...) boots a system once per test."""
    systems = []
    path = _logdir(request)

    def factory(**kw):
        assert not systems, "one system per test"
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
