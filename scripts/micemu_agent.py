# SPDX-License-Identifier: GPL-2.0
"""Client of the micemu host-VM agent (images/micemu-agent).

The agent listens on a virtio-serial port that QEMU exposes as a unix
socket.  A request is one line "TOKEN COMMAND"; the reply is the command's
output followed by "\\n@@MICEMU-DONE TOKEN RC\\n".

Used as a library by the tests and as a command by scripts/run-vm.sh:
    micemu_agent.py SOCKET COMMAND   (prints the output, exits with RC)
"""

import os
import re
import socket
import sys
import time

_DONE = re.compile(rb"\n@@MICEMU-DONE (\S+) (-?\d+)\n")


class AgentError(Exception):
    """The agent did not answer as the protocol says."""


class Agent:
    """A connection to the agent of one host VM."""

    def __init__(self, path, connect_timeout=60.0):
        self.path = path
        self._buf = b""
        self._seq = 0
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise AgentError(f"cannot connect to {path}")
                time.sleep(0.1)

    def close(self):
        self.sock.close()

    def run(self, command, timeout=120.0):
        """Run COMMAND in the guest; return (rc, output as str)."""
        if "\n" in command:
            raise ValueError("agent commands are single lines")
        self._seq += 1
        token = f"t{os.getpid()}-{self._seq}"
        self.sock.sendall(f"{token} {command}\n".encode())
        deadline = time.monotonic() + timeout
        while True:
            m = _DONE.search(self._buf)
            if m and m.group(1).decode() == token:
                out = self._buf[:m.start()]
                self._buf = self._buf[m.end():]
                return int(m.group(2)), out.decode(errors="replace")
            if m:
                # A reply to an abandoned (timed out) request: drop it.
                self._buf = self._buf[m.end():]
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"agent: '{command}' did not finish "
                                   f"in {timeout:.0f}s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AgentError("agent connection closed (VM gone?)")
            self._buf += data


def main(argv):
    if len(argv) != 3:
        print("usage: micemu_agent.py SOCKET COMMAND", file=sys.stderr)
        return 2
    agent = Agent(argv[1])
    try:
        rc, out = agent.run(argv[2], timeout=float(
            os.environ.get("MICEMU_EXEC_TIMEOUT", "3600")))
    except (AgentError, TimeoutError) as e:
        print(f"micemu_agent: {e}", file=sys.stderr)
        return 125
    sys.stdout.write(out)
    if out and not out.endswith("\n"):
        sys.stdout.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
