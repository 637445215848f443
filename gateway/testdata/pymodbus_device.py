"""A Modbus TCP device served by pymodbus (Debian python3-pymodbus 3.0), an implementation
independent of the gateway's modbus-serial. Usage: pymodbus_device.py PORT

Holding registers (0-based protocol addresses, zero_mode):
  0-1  float32 12.5, big-endian words (ABCD)
  2-3  float32 -3.25, little-endian words (CDAB)
  4-5  int32 -123456, big-endian words
  6    absent: a read of it answers exception 2 (illegal data address)
  10   status word 0x8005: bits 0, 2 and 15 set
  20-23 float64 -1234.5678, big-endian words
  24-27 int64 -9007199254740991 (-(2^53 - 1)), little-endian words
  28-29 float32 101.25 with the bytes of each register swapped (BADC)
Coils: 0 on, 1 off.
"""
import logging
import struct
import sys

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.server import StartTcpServer

logging.basicConfig(level=logging.CRITICAL)


def words(fmt, value, little=False, swap_bytes=False):
    raw = struct.pack(fmt, value)
    if swap_bytes:
        raw = b''.join(raw[i + 1:i + 2] + raw[i:i + 1] for i in range(0, len(raw), 2))
    ws = list(struct.unpack('>' + 'H' * (len(raw) // 2), raw))
    return ws[::-1] if little else ws


holding = {10: 0x8005}
for start, ws in (
    (0, words('>f', 12.5)),
    (2, words('>f', -3.25, little=True)),
    (4, words('>i', -123456)),
    (20, words('>d', -1234.5678)),
    (24, words('>q', -9007199254740991, little=True)),
    (28, words('>f', 101.25, swap_bytes=True)),
):
    for i, w in enumerate(ws):
        holding[start + i] = w

store = ModbusSlaveContext(
    hr=ModbusSparseDataBlock(holding),
    co=ModbusSparseDataBlock({0: True, 1: False}),
    di=ModbusSparseDataBlock({0: False}),
    ir=ModbusSparseDataBlock({0: 0}),
    zero_mode=True,
)
print('ready', flush=True)
StartTcpServer(context=ModbusServerContext(slaves=store, single=True), address=('127.0.0.1', int(sys.argv[1])))
