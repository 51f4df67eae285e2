# SPDX-License-Identifier: GPL-2.0
"""The smallest QMP client that can stop, migrate and continue a VM."""
import json
import os
import socket

from micemu.wait import wait_for


class Qmp:
    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        wait_for(lambda: os.path.exists(path), timeout, "QMP socket")
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())               # greeting
        self.events = []
        msg = Qmp.call(self, "qmp_capabilities")    # not a subclass's call
        assert "return" in msg, msg

    def call(self, name, **args):
        """One command; its reply, {"return": ...} or {"error": ...}.
        Events that come first are kept in self.events."""
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("QMP closed during " + name)
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg["event"])
                continue
            return msg

    def cmd(self, name, **args):
        """One command; its return value, RuntimeError on a QMP error."""
        msg = self.call(name, **args)
        if "error" in msg:
            raise RuntimeError("%s: %s" % (name, msg["error"]))
        return msg["return"]

    def close(self):
        self.f.close()
        self.s.close()
