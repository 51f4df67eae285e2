# SPDX-License-Identifier: GPL-2.0
"""pytest hooks for the whole tree (pytest.ini).

The component suites (qemu-mic-device/tests, card-firmware-sim/tests) skip
a case whose QEMU, micfw or kernel is not built, which is right when a
developer runs one by hand.  Under `make test` (MICEMU_NO_SKIP=1)
everything has been built, so such a skip hides a failure: it is reported
as one.
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
