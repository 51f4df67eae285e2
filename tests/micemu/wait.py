# SPDX-License-Identifier: GPL-2.0
"""Polling with a deadline: the one wait_for of every suite."""
import time


def wait_for(pred, timeout=5.0, what="condition", poll=0.02):
    """PRED's first true value, polled every POLL s; AssertionError after
    TIMEOUT s naming WHAT."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(poll)
