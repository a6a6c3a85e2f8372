"""Every control connection has Nagle off on both ends: a SCPI command is a write and `SYST:ERR?`,
and with Nagle on each one waits ~44 ms for the peer's delayed ACK."""
from __future__ import annotations

import socket

import pytest

from drivers.errors import CommandRejected
from drivers.transport.nodelay import nodelay
from drivers.transport.visa import VisaTransport
from tests.hil.helpers import driver
from tests.support import simulated


def test_scpi_and_modbus_connections_have_nagle_off_on_both_ends():
    with simulated(("MET01", "metrology"), ("WET01", "wet_bench")) as sim:
        scpi, plc = driver(sim, "MET01"), driver(sim, "WET01")
        scpi.connect()
        plc.connect()
        try:
            host_scpi = VisaTransport.socket_of(scpi.backend.transport._res)
            host_plc = plc.backend.transport._client.socket
            assert isinstance(host_scpi, socket.socket) and nodelay(host_scpi)
            assert nodelay(host_plc)
            tool_scpi = [w.get_extra_info("socket") for w in sim.servers["MET01"]["main"]._writers]
            tool_plc = [c.transport.get_extra_info("socket")
                        for c in sim.servers["WET01"]["main"]._server.active_connections.values()]
            assert tool_scpi and all(nodelay(s) for s in tool_scpi)
            assert tool_plc and all(nodelay(s) for s in tool_plc)
        finally:
            scpi.close()
            plc.close()


def test_a_refused_scpi_command_is_reported_from_its_own_session():
    """The command and its `SYST:ERR?` travel together: the refusal comes back, not a fresh queue."""
    with simulated(("MET01", "metrology")) as sim:
        d = driver(sim, "MET01")
        d.connect()
        try:
            with pytest.raises(CommandRejected, match=r"105.*Unknown job NOPE"):
                d.backend.scpi.command("JOB:STAR", "NOPE")
            assert d.backend.scpi.query("SYST:ERR?") == [0, "No error"]
        finally:
            d.close()
