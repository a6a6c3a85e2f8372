"""A hostile or broken peer on the simulators' sockets cannot break them (issue #14, part 2): the
control port asks for its token and validates every operation, no read creates state; SCPI takes
only finite, in-range numbers, keeps its error queue per IEEE 488.2 and tells a wrong parameter count
from a bad value; commands declared idempotent are; Modbus answers as the application protocol says;
random bytes are answered or dropped, logged once, and the server still serves."""
from __future__ import annotations

import json
import logging
import random
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pymodbus.client import ModbusTcpClient

from sim_hw.control_client import SimControl, SimControlError
from tests.support import simulated


@pytest.fixture(scope="module")
def line() -> Iterator[Any]:
    with simulated(("PVD01", "sputter"), ("EP01", "plater"), ("CURE01", "oven"), speed=600, control_port=0) as sim:
        yield sim


def control(line: Any) -> SimControl:
    return SimControl("127.0.0.1", line.control.port, token_file=line.control.token_file)


def raw(port: int, *lines: bytes, read: bool = True, timeout: float = 3.0) -> list[str]:
    """Send lines on a fresh connection; the reply lines (one per line sent when `read`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        replies = []
        for data in lines:
            s.sendall(data)
            if read:
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                replies.append(buf.decode(errors="replace").strip())
        return replies


# ---- the control port ------------------------------------------------------------------------------
def test_the_control_port_refuses_a_request_without_its_token(line):
    port = line.control.port
    assert json.loads(raw(port, b'{"op": "ping"}\n')[0]) == {"ok": True, "result": "pong"}
    for req in ({"op": "speed", "speed": 1}, {"op": "world"}, {"op": "inject", "tool": "PVD01", "fault": "hard_arc"},
                {"op": "tools", "token": "guess"}):
        reply = json.loads(raw(port, json.dumps(req).encode() + b"\n")[0])
        assert reply["ok"] is False and "unauthorized" in reply["error"], req
    assert line.tool("PVD01").faults.armed() == {} and line.clock.speed == 600
    assert (line.control.token_file.stat().st_mode & 0o777) == 0o600
    with pytest.raises(SimControlError, match="no control token"):
        SimControl("127.0.0.1", port, token_file=line.control.token_file.with_name("missing.token")).request("tools")


@pytest.mark.parametrize("speed", [float("nan"), float("inf"), 0, -5, 1e9, "fast", True, None])
def test_a_speed_that_is_not_a_finite_positive_number_is_refused(line, speed):
    with pytest.raises(SimControlError, match="speed must be a finite number"):
        control(line).request("speed", speed=speed)
    assert line.clock.speed == 600


def test_reading_the_world_of_an_unknown_wafer_creates_nothing(line):
    before = len(control(line).world())
    for i in range(200):
        with pytest.raises(SimControlError, match="no wafer"):
            control(line).world(f"NOBODY.{i:03d}")
    assert len(control(line).world()) == before


@pytest.mark.parametrize("fault,params,words", [
    ("no_such_fault", {}, "unknown fault"), ("hard_arc", {"slott": 3}, "no parameter slott"),
    ("hang", {"for_s": float("nan")}, "not a finite number"), ("hang", {"for_s": "long"}, "is not a float"),
])
def test_a_fault_the_tool_does_not_declare_or_a_bad_parameter_is_refused(line, fault, params, words):
    with pytest.raises(SimControlError, match=words):
        control(line).inject("PVD01", fault, **params)
    assert line.tool("PVD01").faults.armed() == {}


@pytest.mark.parametrize("wafers,design", [
    ([], {"pad": {"area_pct": 100, "layers": [{"material": "Si", "role": "substrate", "thickness_nm": 1}]}}),
    (["W"], {"pad": {"area_pct": float("nan"), "layers": []}}),
    (["W"], {"pad": {"area_pct": 100, "layers": [{"material": "Si", "role": "substrate", "thickness_nm": -1}]}}),
    (["W"] * 5000, {}), ("W", {}),
])
def test_start_wafers_validates_what_it_is_given(line, wafers, design):
    with pytest.raises(SimControlError, match="BadValue"):
        control(line).request("start_wafers", wafers=wafers, design=design)
    assert "W" not in line.world


def test_a_deep_or_huge_request_is_refused_and_the_port_still_serves(line):
    port, token = line.control.port, line.control.token
    deep = b'{"op": "tools", "token": "' + token.encode() + b'", "x": ' + b"[" * 30000 + b"]" * 30000 + b"}\n"
    reply = json.loads(raw(port, deep)[0])
    assert reply["ok"] is False and "nested too deeply" in reply["error"]
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:   # over the bound: the connection ends
        try:
            s.sendall(b"x" * (5 * 1024 * 1024) + b"\n")
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
    assert json.loads(raw(port, b'{"op": "ping"}\n')[0])["result"] == "pong"
    assert json.loads(raw(port, b"\xff\xfe not json\n")[0])["ok"] is False


# ---- SCPI ------------------------------------------------------------------------------------------
def scpi_port(line: Any, tool: str, endpoint: str = "main") -> int:
    return line.servers[tool][endpoint].port


def errors_after(port: int, *commands: str) -> list[str]:
    """Send commands, then read the error queue until it says 0."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        f = s.makefile("rwb")
        for c in commands:
            f.write(c.encode() + b"\n")
        out = []
        for _ in range(64):
            f.write(b"SYST:ERR?\n")
            f.flush()
            reply = f.readline().decode().strip()
            out.append(reply)
            if reply.startswith("0,"):
                break
        return out


@pytest.mark.parametrize("command,code", [("SOUR:CURR nan", "-224"), ("SOUR:CURR inf", "-224"), ("SOUR:CURR -inf", "-224"),
                                          ("SOUR:CURR 1e400", "-224"), ("SOUR:CURR 131", "-222"), ("OUTP:TIM nan", "-224"),
                                          ("OUTP:TIM 1e9", "-222"), ("VOLT:PROT nan", "-224")])
def test_a_rectifier_takes_only_finite_numbers_within_its_limits(line, command, code):
    rect = line.tool("EP01").rectifiers[0]
    before = (rect.set_a, rect.timer_s, rect.protection_v)
    errs = errors_after(scpi_port(line, "EP01", "cell1"), command)
    assert errs[0].startswith(code), errs
    assert (rect.set_a, rect.timer_s, rect.protection_v) == before


def test_every_command_declared_idempotent_on_a_rectifier_is(line):
    rect = line.tool("EP01").rectifiers[1]
    port = scpi_port(line, "EP01", "cell2")

    def state() -> tuple:
        return rect.set_a, rect.protection_v, rect.timer_s, rect.output, id(rect._task)

    sent = ["SOUR:CURR 2.5", "VOLT:PROT 8", "OUTP:TIM 3600", "OUTP 1", "OUTP 0"]
    for command in sent:
        errors_after(port, command)
        once = state()
        errors_after(port, command)
        assert state() == once, command          # a resend (the transport retries idempotent commands) changes nothing


def test_the_error_queue_keeps_the_oldest_and_says_it_overflowed(line):
    errs = errors_after(scpi_port(line, "PVD01"), *(f"BAD{i}" for i in range(40)))
    assert len(errs) == 33 and '"BAD0"' in errs[0] and '"BAD30"' in errs[30]
    assert errs[31] == '-350,"Queue overflow"' and errs[32].startswith("0,")


def test_a_wrong_parameter_count_is_a_command_error(line):
    errs = errors_after(scpi_port(line, "PVD01"), "JOB:STAR a,b", "JOB:STAR", "*IDN? extra")
    assert [e.split(",")[0] for e in errs[:3]] == ["-108", "-109", "-108"], errs


def after_junk(s: socket.socket) -> str:
    """What became of a connection that sent junk and then `*IDN?`: "answered" (the identity came
    back on it), "dropped" (the server closed it) — a silence until the timeout raises."""
    buf = b""
    while b"PVD01" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return "dropped"
        buf += chunk
    return "answered"


def test_random_bytes_are_answered_or_dropped_logged_once_and_the_server_still_serves(line, caplog):
    rng = random.Random(14)
    port = scpi_port(line, "PVD01")
    caplog.set_level(logging.INFO)
    outcomes = []
    for _ in range(20):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000)))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(junk + b"\n*IDN?\n")
            outcomes.append(after_junk(s))         # never a hang: socket.timeout fails the test
    assert set(outcomes) <= {"answered", "dropped"} and "answered" in outcomes, outcomes
    records = [r for r in caplog.records if r.name.startswith("sim_hw")]
    assert len(records) <= len(outcomes), [r.getMessage() for r in records]   # at most once per connection
    assert sum(len(r.getMessage()) for r in records) < 20_000                  # not a traceback per byte
    assert "PVD01" in raw(port, b"*IDN?\n")[0]


# ---- Modbus ------------------------------------------------------------------------------------------
@pytest.fixture
def plc(line: Any) -> Iterator[ModbusTcpClient]:
    client = ModbusTcpClient("127.0.0.1", port=line.servers["CURE01"]["main"].port, timeout=1, retries=0)
    client.connect()
    yield client
    client.close()


def test_fc6_writes_a_register_and_echoes_it(plc, line):
    addr = line.servers["CURE01"]["main"].image.regmap["req_job_id"].address
    reply = plc.write_register(addr, 0x4142, device_id=1)
    assert not reply.isError() and reply.registers == [0x4142]


def test_only_the_configured_unit_id_answers(plc, line):
    assert not plc.read_holding_registers(0, count=4, device_id=1).isError()
    port = line.servers["CURE01"]["main"].port
    try:                     # another unit gets no data: silence, or a gateway's "no such target" (0x0A / 0x0B)
        answer = modbus_raw(port, bytes([3]) + (0).to_bytes(2, "big") + (4).to_bytes(2, "big"), unit=7)
    except TimeoutError:
        answer = b""
    assert answer in (b"", b"\x83\x0a", b"\x83\x0b"), answer


def modbus_raw(port: int, pdu: bytes, unit: int = 1) -> bytes:
    """One Modbus TCP request as bytes (a client library refuses to build an illegal one); the reply PDU."""
    frame = (1).to_bytes(2, "big") + (0).to_bytes(2, "big") + (len(pdu) + 1).to_bytes(2, "big") + bytes([unit]) + pdu
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(frame)
        reply = s.recv(1024)
    return reply[7:]


def test_an_undeclared_address_is_exception_2_and_an_illegal_count_exception_3(plc, line):
    port = line.servers["CURE01"]["main"].port
    assert plc.read_holding_registers(3500, count=4, device_id=1).exception_code == 2
    assert plc.write_registers(3500, [1, 2], device_id=1).exception_code == 2
    for count in (0, 126, 2000):
        assert modbus_raw(port, bytes([3]) + (0).to_bytes(2, "big") + count.to_bytes(2, "big")) == bytes([0x83, 3]), count


def test_random_frames_never_break_the_plc(line):
    rng = random.Random(6)
    port = line.servers["CURE01"]["main"].port
    for _ in range(50):
        frame = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(frame)
                s.recv(512)
        except OSError:
            pass
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    client.connect()
    try:
        assert not client.read_holding_registers(0, count=8, device_id=1).isError()
    finally:
        client.close()
