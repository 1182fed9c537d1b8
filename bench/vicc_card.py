#!/usr/bin/python3
"""vicc_card.py - vsmartcard's own virtual card (vicc, Debian vsmartcard-vpicc),
the ISO 7816 type as `vicc -t iso7816` builds it, with one transparent EF added
under the MF (FID 2FE2, SFI 02, 10 bytes, as EF.ICCID of cards/default) so that
bench/apdu_loop's SELECT MF / READ BINARY by SFI 02 gets data, as it does from
scwsemu. Everything else is vicc's own code path (VirtualICC.run).

    PYTHONPATH=<vsmartcard module folder>:<folder with Crypto> \
        vicc_card.py [--quickack] HOST PORT

With --quickack the socket re-arms TCP_QUICKACK after every read, as
scwsemu's vpcd link does: vpcd sends a request's length and body in two
writes without TCP_NODELAY, so without it each body waits for vicc's delayed
ACK (up to 40 ms). That row shows what the Python card itself costs.

bench/run.py sets PYTHONPATH: on Debian 12 the package installs its modules
outside sys.path, and imports pycryptodome as Crypto, which Debian ships as
Cryptodome."""
import logging
import socket
import sys

from virtualsmartcard.SmartcardFilesystem import TransparentStructureEF
from virtualsmartcard.VirtualSmartcard import VirtualICC

ICCID = bytes.fromhex("98880200000000000060")


class QuickAckSocket:
    """vicc's socket, with TCP_QUICKACK set again after every recv()."""

    def __init__(self, sock):
        self._sock = sock

    def recv(self, n):
        data = self._sock.recv(n)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


def main():
    args = sys.argv[1:]
    quickack = args[:1] == ["--quickack"]
    if quickack:
        args = args[1:]
    if len(args) != 2:
        sys.stderr.write("usage: vicc_card.py [--quickack] HOST PORT\n")
        return 2
    icc = VirtualICC(None, "iso7816", args[0], int(args[1]), logginglevel=logging.CRITICAL)
    if quickack:
        icc.sock = QuickAckSocket(icc.sock)
    mf = icc.os.mf
    mf.append(TransparentStructureEF(parent=mf, fid=0x2FE2, shortfid=2, data=ICCID))
    icc.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
