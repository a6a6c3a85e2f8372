"""Wire encoding shared by the simulator's server and the driver's client."""
import pytest

from drivers.scpi_spec import Arg, Command, Json, decode_values, encode_values, split_fields
from drivers.sputter.interface import INTERFACE


def test_roundtrip_of_mixed_fields_with_quoting_and_trailing_json():
    args = (Arg("job"), Arg("n", int), Arg("x", float), Arg("ok", bool), Arg("doc", Json))
    values = ("LOT 1,a", 3, 1.5e-6, True, {"a": [1, 2], "b": "c,d"})
    assert decode_values(args, encode_values(args, values)) == list(values)


def test_quotes_inside_strings_are_doubled():
    args = (Arg("t"), Arg("u"))
    text = encode_values(args, ('say "hi"', "x"))
    assert text == '"say ""hi""",x'
    assert split_fields(text, args) == ['say "hi"', "x"]


def test_json_must_be_last():
    with pytest.raises(ValueError, match="a Json field must be last"):
        Command("X", "x", params=(Arg("a", Json), Arg("b")))


def test_wrong_field_count_is_an_error():
    with pytest.raises(ValueError, match="expected 2 fields, got 1"):
        decode_values((Arg("a", int), Arg("b", int)), "1")


def test_interface_has_common_and_job_commands_case_insensitively():
    assert INTERFACE.get("*idn?") is not None
    assert INTERFACE["job:stat?"].is_query
    assert not INTERFACE["JOB:CRE"].idempotent  # creating a job is never blindly retried
    assert INTERFACE["JOB:STAR"].idempotent      # starting a started job is a no-op on the tool


def test_arg_range_check_names_the_rule():
    assert Arg("p", float, "kW", 1, 40).check(45) == "above maximum 40 kW"
    assert Arg("s", choices=("A", "B")).check("C") == "must be one of A, B"
