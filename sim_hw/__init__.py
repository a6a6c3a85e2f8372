"""Simulated hardware: physics on a virtual clock behind the tools' real wire protocols.

`sim_hw` may import the declarative interface specs that `drivers` publish, never driver logic.
"""
