"""Reads Modbus tables with pymodbus (Debian's python3-pymodbus 3.0), for the interop tests.

usage: /usr/bin/python3 read_map.py HOST PORT UNIT '[{"table": "holding", "address": 0, "count": 15}, ...]'
prints one JSON object: {"reads": [[values...] | {"exception": code}, ...]}
"""
import json
import sys

from pymodbus.client import ModbusTcpClient


def main() -> None:
    host, port, unit, spec = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
    client = ModbusTcpClient(host, port=port, timeout=3)
    if not client.connect():
        print(json.dumps({"error": f"cannot connect to {host}:{port}"}))
        sys.exit(2)
    readers = {
        "coil": client.read_coils,
        "discrete": client.read_discrete_inputs,
        "holding": client.read_holding_registers,
        "input": client.read_input_registers,
    }
    out = []
    for read in spec:
        reply = readers[read["table"]](read["address"], read["count"], slave=unit)
        if reply.isError():
            out.append({"exception": getattr(reply, "exception_code", None)})
        elif read["table"] in ("coil", "discrete"):
            # pymodbus pads bits to whole bytes: keep the ones asked for.
            out.append([int(b) for b in reply.bits[: read["count"]]])
        else:
            out.append(list(reply.registers))
    client.close()
    print(json.dumps({"reads": out}))


if __name__ == "__main__":
    main()
