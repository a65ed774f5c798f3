import math

import pytest
from hypothesis import given, strategies as st

from devices.maps import (EMB, FDR, ChecksumError, tmr_command, tmr_format_identity, tmr_format_status, tmr_frame,
                          tmr_parse_command, tmr_parse_identity, tmr_parse_read, tmr_parse_status, tmr_unframe)
from devices.registers import HOLDING, INPUT, Field


@given(st.floats(width=32, allow_nan=False), st.sampled_from(["ABCD", "CDAB"]))
def test_f32_round_trips_in_either_word_order(value, word_order):
    field = Field("x", 0, "f32", INPUT)
    assert field.decode(field.encode(value, word_order), word_order) == value


@given(st.integers(0, 2**32 - 1), st.sampled_from(["ABCD", "CDAB"]))
def test_u32_round_trips_in_either_word_order(value, word_order):
    field = Field("x", 0, "u32", INPUT)
    assert field.decode(field.encode(value, word_order), word_order) == value


def test_word_order_abcd_puts_the_high_word_first():
    field = Field("x", 0, "f32", INPUT)
    assert field.encode(1.0, "ABCD") == [0x3F80, 0x0000]
    assert field.encode(1.0, "CDAB") == [0x0000, 0x3F80]


def test_ascii_is_two_characters_a_register_high_byte_first_padded_with_spaces():
    field = FDR["serial_number"]
    registers = field.encode("AB1")
    assert registers[:2] == [0x4142, 0x3120] and registers[2:] == [0x2020] * 14
    assert field.decode(registers) == "AB1"


def test_firmware_103_reads_as_1_03():
    assert math.isclose(FDR["firmware"].decode([103]), 1.03)
    assert FDR["firmware"].encode(1.03) == [103]


def test_span_covers_the_named_fields_in_one_request():
    assert FDR.span(["status", "standard_expansion"]) == (INPUT, 0, 20)
    assert EMB.span(["voltage_setpoint", "pulses"]) == (HOLDING, 100, 11)
    with pytest.raises(ValueError, match="one table"):
        FDR.span(["status", "command"])


def test_decode_block_gives_only_whole_fields():
    registers = FDR["run_id"].encode(7) + FDR["reference_volume"].encode(2.5)[:1]
    assert FDR.decode_block(INPUT, 2, registers, "ABCD") == {"run_id": 7}


def _frame_by_hand(text: str) -> bytes:
    """A TMR reply built apart from devices.maps: the XOR of the text's bytes, two upper-case hex digits."""
    check = 0
    for byte in text.encode("ascii"):
        check ^= byte
    return text.encode("ascii") + b"*" + f"{check:02X}".encode("ascii") + b"\r\n"


def test_tmr_frame_is_text_star_xor_in_hex_crlf():
    assert tmr_frame("OK") == b"OK*04\r\n"  # 'O' ^ 'K' = 0x4F ^ 0x4B
    assert tmr_unframe(b"OK*04\r\n") == "OK"
    assert tmr_frame("ERR 6 BUSY") == b"ERR 6 BUSY*6E\r\n"  # hex digits above 9 in upper case
    assert tmr_unframe(b"ERR 6 BUSY*6E\r\n") == "ERR 6 BUSY"


@pytest.mark.parametrize("line", [b"ERR 6 BUSY*6e\r\n", b"J*4a\r\n"])
def test_tmr_checksum_in_lower_case_is_rejected_even_with_the_right_value(line):
    with pytest.raises(ChecksumError, match="upper-case"):
        tmr_unframe(line)


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="*"), min_size=1, max_size=60))
def test_a_tmr_reply_framed_by_hand_is_accepted(text):
    assert tmr_frame(text) == _frame_by_hand(text)
    assert tmr_unframe(_frame_by_hand(text)) == text


@given(st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="*"), min_size=1, max_size=60),
       st.data())
def test_any_single_bit_error_in_a_tmr_reply_is_rejected(text, data):
    frame = bytearray(_frame_by_hand(text))
    position = data.draw(st.integers(0, len(frame) - 3))  # anywhere before CR LF
    frame[position] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(ChecksumError):
        tmr_unframe(bytes(frame))


@pytest.mark.parametrize("line", [b"OK\r\n", b"OK*4\r\n", b"OK*zz\r\n", b"OK*0a\r\n", b"0000* 0\r\n"])
def test_tmr_reply_without_a_valid_checksum_field_is_rejected(line):
    with pytest.raises(ChecksumError):
        tmr_unframe(line)


def test_tmr_read_reply_parses_into_named_values():
    assert tmr_parse_read("D=1000.00,990.00;T=100.00,100.10;F=13.00") == {
        "reference_distance_m": 1000.0, "meter_distance_m": 990.0,
        "reference_time_s": 100.0, "meter_time_s": 100.1, "fare": 13.0}
    with pytest.raises(ValueError):
        tmr_parse_read("D=1000.00;T=1,2;F=3")


def test_tmr_commands_are_written_as_plain_decimals_and_read_back():
    assert tmr_command("RUN", 2000, 40) == "RUN 2000 40"
    assert tmr_command("WAIT", 0.25) == "WAIT 0.25"
    assert tmr_command("RUN", 1_234_567.0, 12.5) == "RUN 1234567 12.5"  # no exponent for a rig to misread
    assert tmr_parse_command("run 1234567 12.5") == ("RUN", [1234567.0, 12.5])
    with pytest.raises(ValueError, match="RUN takes 2 numbers, not 1"):
        tmr_command("RUN", 2000)


@pytest.mark.parametrize("line, error", [("FLY 10", LookupError), ("", LookupError), ("RUN 100", ValueError),
                                         ("WAIT -5", ValueError), ("RUN 100 fast", ValueError),
                                         ("WAIT inf", ValueError)])
def test_tmr_command_lines_that_are_not_commands_are_refused(line, error):
    with pytest.raises(error):
        tmr_parse_command(line)


def test_tmr_identity_and_status_replies_parse_or_are_refused():
    assert tmr_format_identity("TMR-7", "2.10") == "LABS,TMR-1,TMR-7,2.10"
    assert tmr_parse_identity("LABS,TMR-1,TMR-7,2.10") == ("TMR-7", "2.10")
    assert tmr_format_status("FAULT", 2) == "FAULT 2"
    assert tmr_parse_status("FAULT 2") == ("FAULT", 2)
    assert tmr_parse_status("DONE") == ("DONE", 0)
    for bad in ("ACME,TMR-1,1,1", "LABS,TMR-1,1"):
        with pytest.raises(ValueError):
            tmr_parse_identity(bad)
    for bad in ("OK", "FAULT", "FAULT x", "DONE 1"):
        with pytest.raises(ValueError):
            tmr_parse_status(bad)


def test_an_ascii_field_padded_with_nuls_reads_without_them():
    registers = [0x4142, 0x3100] + [0x0000] * 14  # "AB1" and NULs, as some devices pad
    assert FDR["serial_number"].decode(registers) == "AB1"
    assert FDR["serial_number"].decode([0x4142, 0x3120] + [0x2000] * 14) == "AB1"  # spaces and NULs mixed
