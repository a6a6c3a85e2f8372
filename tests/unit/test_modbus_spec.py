"""The register codec both PLC sides share: recipes round-trip through the setpoint block."""
import pytest

from drivers.modbus_spec import Reg, RegisterMap, block_hash, decode_recipe, encode_recipe, flatten, repeated, unflatten


def test_nested_bodies_round_trip_and_stale_list_entries_drop():
    body = {"a": 1.5, "segs": [{"t": 1.0}, {"t": 3.0}], "empty": [], "names": ["x", "y"], "n": {"k": [{"z": [1, 2]}]}}
    flat = flatten(body)
    flat["segs[5].t"] = 9.0                      # a register past the list's length
    assert unflatten(flat) == body


def test_a_recipe_survives_the_register_block_and_hashes_the_same_both_sides():
    m = RegisterMap("x", (Reg("mode", 2000, "enum", choices=("a", "b"), writable=True),
                          Reg("name", 2001, "str", 4, writable=True))
                    + repeated("segs", 3, 2010, [("t", "f32", "C")]))
    body = {"mode": "b", "name": "AB-1", "segs": [{"t": 250.0}, {"t": 125.5}]}
    block = encode_recipe(m, body)
    assert decode_recipe(m, block) == body and block_hash(block) == block_hash(encode_recipe(m, body))
    with pytest.raises(ValueError, match="no setpoint register"):
        encode_recipe(m, {**body, "extra": 1})
