"""Transports: VISA (SCPI over TCP sockets, via pyvisa-py) and, for PLC tools, Modbus TCP."""
