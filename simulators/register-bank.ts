/** The data model a Modbus server serves (Modbus Application Protocol v1.1b §4.3: four tables). */

export type BitTable = 'coil' | 'discrete';
export type RegisterTable = 'holding' | 'input';
export type Table = BitTable | RegisterTable;

/** Exception codes of Modbus Application Protocol v1.1b §7. */
export const ModbusExceptionCode = {
  IllegalFunction: 1,
  IllegalDataAddress: 2,
  IllegalDataValue: 3,
  ServerDeviceFailure: 4,
} as const;

/** Thrown by a register bank to answer a request with a Modbus exception. */
export class ModbusException extends Error {
  constructor(
    readonly exceptionCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ModbusException';
  }
}

/**
 * What a `ModbusTcpServer` serves. The server checks quantities and address ranges against
 * `size()` before it calls a read or a write, so a bank sees only in-range requests; a bank may
 * still throw `ModbusException` (e.g. exception 2 for a read-only register).
 */
export interface RegisterBank {
  size(table: Table): number;
  readBits(table: BitTable, address: number, quantity: number): boolean[];
  readRegisters(table: RegisterTable, address: number, quantity: number): number[];
  writeCoils(address: number, values: boolean[]): void;
  writeHoldingRegisters(address: number, values: number[]): void;
}

export interface MemoryRegisterBankSizes {
  coils: number;
  discreteInputs: number;
  holdingRegisters: number;
  inputRegisters: number;
}

/** A plain in-memory bank; device models keep their values in it and hook writes. */
export class MemoryRegisterBank implements RegisterBank {
  readonly coils: boolean[];
  readonly discreteInputs: boolean[];
  readonly holding: Uint16Array;
  readonly input: Uint16Array;
  /** Called before a master writes coils: throw a ModbusException to refuse. */
  onCoilsWrite?: (address: number, values: boolean[]) => void;
  /** Called after a master wrote coils, with the written range. */
  onCoilsWritten?: (address: number, values: boolean[]) => void;
  /** Called before a master writes holding registers: throw a ModbusException to refuse. */
  onHoldingWrite?: (address: number, values: number[]) => void;

  constructor(sizes: MemoryRegisterBankSizes) {
    this.coils = new Array<boolean>(sizes.coils).fill(false);
    this.discreteInputs = new Array<boolean>(sizes.discreteInputs).fill(false);
    this.holding = new Uint16Array(sizes.holdingRegisters);
    this.input = new Uint16Array(sizes.inputRegisters);
  }

  size(table: Table): number {
    switch (table) {
      case 'coil':
        return this.coils.length;
      case 'discrete':
        return this.discreteInputs.length;
      case 'holding':
        return this.holding.length;
      case 'input':
        return this.input.length;
    }
  }

  readBits(table: BitTable, address: number, quantity: number): boolean[] {
    return (table === 'coil' ? this.coils : this.discreteInputs).slice(address, address + quantity);
  }

  readRegisters(table: RegisterTable, address: number, quantity: number): number[] {
    return Array.from((table === 'holding' ? this.holding : this.input).subarray(address, address + quantity));
  }

  writeCoils(address: number, values: boolean[]): void {
    this.onCoilsWrite?.(address, values);
    values.forEach((v, i) => (this.coils[address + i] = v));
    this.onCoilsWritten?.(address, values);
  }

  writeHoldingRegisters(address: number, values: number[]): void {
    this.onHoldingWrite?.(address, values);
    this.holding.set(values, address);
  }

  /** Stores a float32 in two registers, high word first (ABCD, the site model's default word order). */
  setFloat32(table: RegisterTable, address: number, value: number): void {
    const buf = Buffer.alloc(4);
    buf.writeFloatBE(value);
    const regs = table === 'holding' ? this.holding : this.input;
    regs[address] = buf.readUInt16BE(0);
    regs[address + 1] = buf.readUInt16BE(2);
  }
}
