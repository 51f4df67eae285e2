# SPDX-License-Identifier: GPL-2.0
"""Test harness for micemu: start whole systems, drive them, read their logs."""
