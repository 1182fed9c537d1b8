"""A pytest fixture that runs scwsemu for a test: ephemeral ports, the ready
file read for the URLs and the CA, stopped afterwards.

    def test_fetch(scwsemu):
        url = scwsemu.url("bip", "https")     # https://127.0.0.1:NNNNN/OMA/DM/Bootstrap.xml
        ctx = ssl.create_default_context(cafile=scwsemu.ca)

SCWSEMU names the binary (default: scwsemu on PATH, as the .deb installs it).
"""
import json
import os
import shutil
import subprocess
import time

import pytest


class Scwsemu:
    def __init__(self, ready):
        self.pid = ready["pid"]
        self.ca = ready["ca"]
        self.card = ready["card"]
        self.endpoints = ready["endpoints"]

    def url(self, transport="bip", scheme="https", host="127.0.0.1"):
        for e in self.endpoints:
            if (e["transport"], e["scheme"], e["host"]) == (transport, scheme, host):
                return e["url"]
        raise LookupError("no %s %s endpoint on %s" % (transport, scheme, host))


@pytest.fixture
def scwsemu(tmp_path):
    binary = os.environ.get("SCWSEMU") or shutil.which("scwsemu") or "scwsemu"
    ready = tmp_path / "ready.json"
    log = open(tmp_path / "scwsemu.log", "w+")
    proc = subprocess.Popen(
        [binary, "--port-map", "4116=0", "--port-map", "3516=0",
         "--tcpip", "127.0.0.1:0", "--ready-file", str(ready)],
        stderr=log)
    try:
        deadline = time.monotonic() + 10
        while not ready.exists():
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError("scwsemu exited %d:\n%s" % (proc.returncode, log.read()))
            if time.monotonic() > deadline:
                raise TimeoutError("scwsemu not ready after 10 s")
            time.sleep(0.05)
        yield Scwsemu(json.loads(ready.read_text()))
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=5)
        log.close()
