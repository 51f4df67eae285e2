# SPDX-License-Identifier: GPL-2.0
"""The test agent's client (Agent, AgentError).  It lives in
scripts/micemu_agent.py, which run-vm.sh also runs as a command; here it
is loaded from there as a module, so there is one copy."""
import importlib.util
import os

from micemu.build import TOP

_spec = importlib.util.spec_from_file_location(
    "micemu_agent", os.path.join(TOP, "scripts", "micemu_agent.py"))
_agent = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_agent)

Agent = _agent.Agent
AgentError = _agent.AgentError
