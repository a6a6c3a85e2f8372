"""Tool drivers: one typed API per tool kind over a real transport (VISA/SCPI or Modbus TCP).

A driver never imports `line` or `sim_hw`. Each kind publishes its interface spec as data
(`drivers/<kind>/interface.py`) so the simulator serves exactly what the driver speaks.
"""
