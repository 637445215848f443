"""A Modbus TCP device served by pymodbus (Debian python3-pymodbus 3.0), an implementation
independent of the gateway's modbus-serial. Usage: pymodbus_device.py PORT

Holding registers (0-based protocol addresses, zero_mode):
  0-1  float32 12.5, big-endian words (ABCD)
  2-3  float32 -3.25, little-endian words (CDAB)
  4-5  int32 -123456, big-endian words
  6    absent: a read of it answers exception 2 (illegal data address)
Coils: 0 on, 1 off.
"""
import logging
import struct
import sys

from pymodbus.datastore import ModbusServerContext, ModbusSlaveContext, ModbusSparseDataBlock
from pymodbus.server import StartTcpServer

logging.basicConfig(level=logging.CRITICAL)


def words(fmt, value, little=False):
    hi, lo = struct.unpack('>HH', struct.pack(fmt, value))
    return [lo, hi] if little else [hi, lo]


holding = {}
for start, ws in ((0, words('>f', 12.5)), (2, words('>f', -3.25, little=True)), (4, words('>i', -123456))):
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
