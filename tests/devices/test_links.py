import re

import pytest

from devices.links import LinkError, RtuLink, SerialLink, TcpLink, parse_link


def test_tcp_link_with_options():
    assert parse_link("modbus+tcp://10.0.0.5:502?unit=3&word_order=cdab") == TcpLink("10.0.0.5", 502, 3, "CDAB")


def test_rtu_link_with_serial_settings():
    link = parse_link("modbus+rtu:///dev/ttyUSB0?baud=9600&parity=E&stopbits=1&unit=1")
    assert link == RtuLink("/dev/ttyUSB0", 9600, "E", 1, 1)


def test_serial_link_defaults_to_8n1():
    assert parse_link("serial:///dev/ttyUSB1?baud=9600") == SerialLink("/dev/ttyUSB1", 9600, "N", 1)


@pytest.mark.parametrize("link", [TcpLink("rig-3.lab", 5020, 2, "CDAB"), TcpLink("fd00::5", 502), RtuLink("/dev/ttyS1", 19200, "N", 2, 7),
                                  SerialLink("/dev/ttyUSB1", 4800, "O", 2)])
def test_a_link_prints_as_a_string_that_parses_back(link):
    assert parse_link(str(link)) == link


@pytest.mark.parametrize("text, complaint", [
    ("10.0.0.5:502", "no scheme"),
    ("modbus+udp://10.0.0.5:502", "scheme 'modbus+udp'"),
    ("modbus+tcp://:502", "host is missing"),
    ("modbus+tcp://10.0.0.5", "port is missing"),
    ("modbus+tcp://10.0.0.5:http", "port in '10.0.0.5:http'"),
    ("modbus+tcp://10.0.0.5:70000", "port in"),
    ("modbus+tcp://10.0.0.5:0", "port must be a number from 1 to 65535, not 0"),
    ("modbus+tcp://admin@10.0.0.5:502", "has a user name"),
    ("modbus+tcp://10.0.0.5:502?unit=0", "unit must be a whole number from 1 to 247, not '0'"),
    ("modbus+tcp://10.0.0.5:502?unit=1&unit=2", "'unit' is given twice"),
    ("modbus+tcp://10.0.0.5:502?word_order=BADC", "word_order must be ABCD or CDAB"),
    ("modbus+tcp://10.0.0.5:502?baud=9600", "option 'baud' is not known for modbus+tcp"),
    ("modbus+rtu://dev/ttyUSB0", "three slashes"),
    ("modbus+rtu:///dev/ttyUSB0?parity=X", "parity must be N, E or O"),
    ("modbus+rtu:///dev/ttyUSB0?baud=fast", "baud must be a whole number"),
    ("modbus+rtu:///dev/ttyUSB0?stopbits=3", "stopbits must be a whole number from 1 to 2"),
    ("modbus+rtu:///", "device path is missing"),
    ("serial:///dev/ttyUSB1?unit=1", "option 'unit' is not known for serial"),
])
def test_a_bad_link_is_refused_saying_which_part_is_wrong(text, complaint):
    with pytest.raises(LinkError, match=re.escape(complaint)):
        parse_link(text)


@pytest.mark.parametrize("text, link", [
    ("serial://COM3?baud=9600", SerialLink("COM3", 9600)),
    ("modbus+rtu://com12?baud=19200&parity=E&unit=4", RtuLink("COM12", 19200, "E", 1, 4)),
])
def test_a_windows_com_port_is_parsed_and_printed_back(text, link):
    assert parse_link(text) == link
    assert str(link).startswith(f"{text.split(':')[0]}://COM") and parse_link(str(link)) == link


def test_a_path_that_is_not_a_com_port_still_needs_three_slashes():
    with pytest.raises(LinkError, match="three slashes"):
        parse_link("serial://COMX?baud=9600")
