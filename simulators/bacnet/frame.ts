/**
 * A structural check of one BACnet/IP datagram (BVLL, NPDU, APDU header) before the library sees it.
 * @bacnet-js/client drops malformed packets silently; the simulators must count them (issue
 * "Device simulators": malformed packets are ignored and counted), and must know the invoke id and
 * the requester's Max_APDU_Length_Accepted to answer with a Reject or an Abort of their own.
 */

/** What kind of datagram it is, once its headers are known to be sound. */
export type Frame =
  | { ok: true; kind: 'confirmed'; service: number; invokeId: number; maxApdu: number; segmented: boolean; route: Route | null }
  | { ok: true; kind: 'unconfirmed'; service: number }
  /** SimpleACK, ComplexACK, SegmentACK, Error, Reject, Abort: answers to our confirmed COV notifications. */
  | { ok: true; kind: 'answer' }
  /** Network-layer messages and BVLL functions other than NPDU carriers: valid, not served. */
  | { ok: true; kind: 'not-served'; what: string }
  | { ok: false; reason: string };

/** The source network of a routed request (SNET/SADR), to send the answer back through the router. */
export interface Route {
  net: number;
  adr: number[];
}

/** Annex J.2: BVLL type for BACnet/IP. */
const BVLL_TYPE_BACNET_IP = 0x81;
/** Annex J.2.1 BVLC functions that carry an NPDU, and the length of their BVLL header. */
const NPDU_CARRIERS: Record<number, { name: string; header: number }> = {
  0x04: { name: 'forwarded-npdu', header: 10 },
  0x09: { name: 'distribute-broadcast-to-network', header: 4 },
  0x0a: { name: 'original-unicast-npdu', header: 4 },
  0x0b: { name: 'original-broadcast-npdu', header: 4 },
};
/** The other BVLC functions of Annex J (result, BDT and FDT management, secure BVLL). */
const OTHER_BVLC = new Set([0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0x08, 0x0c]);

/** Clause 20.1.2.5: Max_APDU_Length_Accepted codes. */
const MAX_APDU_BY_CODE = [50, 128, 206, 480, 1024, 1476];

/** PDU types (clause 20.1.1) and the shortest valid header of each. */
const MIN_APDU_LENGTH: Record<number, number> = { 0: 4, 1: 2, 2: 3, 3: 3, 4: 4, 5: 5, 6: 3, 7: 3 };

export function parseFrame(msg: Buffer): Frame {
  if (msg.length < 4) return bad('shorter than a BVLL header');
  if (msg[0] !== BVLL_TYPE_BACNET_IP) return bad(`BVLL type 0x${hex(msg[0]!)} is not BACnet/IP`);
  const fn = msg[1]!;
  const length = msg.readUInt16BE(2);
  if (length !== msg.length) return bad(`BVLL length ${length} but ${msg.length} bytes received`);
  const carrier = NPDU_CARRIERS[fn];
  if (!carrier) {
    if (OTHER_BVLC.has(fn)) return { ok: true, kind: 'not-served', what: `BVLC function 0x${hex(fn)}` };
    return bad(`unknown BVLC function 0x${hex(fn)}`);
  }
  if (msg.length < carrier.header + 2) return bad(`${carrier.name} without an NPDU`);
  return parseNpdu(msg, carrier.header);
}

/** Clause 6.2: version, control octet, optional DNET/DADR, SNET/SADR, hop count, network message. */
function parseNpdu(msg: Buffer, start: number): Frame {
  let at = start;
  if (msg[at] !== 0x01) return bad(`NPDU version ${msg[at]} (only 1 exists)`);
  const control = msg[at + 1]!;
  at += 2;
  // Bits 6 and 4 are reserved and shall be zero (6.2.2).
  if (control & 0x50) return bad('reserved NPDU control bits set');
  const networkMessage = (control & 0x80) !== 0;
  const hasDestination = (control & 0x20) !== 0;
  const hasSource = (control & 0x08) !== 0;
  let route: Route | null = null;
  if (hasDestination) {
    if (msg.length < at + 3) return bad('NPDU truncated in DNET/DLEN');
    const dlen = msg[at + 2]!;
    at += 3 + dlen;
  }
  if (hasSource) {
    if (msg.length < at + 3) return bad('NPDU truncated in SNET/SLEN');
    const net = msg.readUInt16BE(at);
    const slen = msg[at + 2]!;
    if (slen === 0) return bad('SLEN 0 (6.2.2: a source address is never a broadcast)');
    if (msg.length < at + 3 + slen) return bad('NPDU truncated in SADR');
    route = { net, adr: [...msg.subarray(at + 3, at + 3 + slen)] };
    at += 3 + slen;
  }
  if (hasDestination) at += 1; // hop count
  if (networkMessage) {
    if (msg.length < at + 1) return bad('network-layer message without its type');
    return { ok: true, kind: 'not-served', what: `network-layer message 0x${hex(msg[at]!)}` };
  }
  if (msg.length <= at) return bad('NPDU without an APDU');
  return parseApdu(msg.subarray(at), route);
}

/** Clause 20.1: the fixed part of each PDU type. */
function parseApdu(apdu: Buffer, route: Route | null): Frame {
  const type = apdu[0]! >> 4;
  const min = MIN_APDU_LENGTH[type];
  if (min === undefined) return bad(`unknown PDU type ${type}`);
  if (apdu.length < min) return bad(`PDU type ${type} truncated (${apdu.length} bytes)`);
  if (type === 0) {
    const segmented = (apdu[0]! & 0x08) !== 0;
    if (segmented && apdu.length < 6) return bad('segmented confirmed request truncated');
    const maxApdu = MAX_APDU_BY_CODE[apdu[1]! & 0x0f];
    if (maxApdu === undefined) return bad(`reserved Max_APDU_Length_Accepted code ${apdu[1]! & 0x0f}`);
    return { ok: true, kind: 'confirmed', service: apdu[segmented ? 5 : 3]!, invokeId: apdu[2]!, maxApdu, segmented, route };
  }
  if (type === 1) return { ok: true, kind: 'unconfirmed', service: apdu[1]! };
  return { ok: true, kind: 'answer' };
}

function bad(reason: string): Frame {
  return { ok: false, reason };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Reject (clause 20.1.8) or Abort (20.1.9, sent by the server) for a confirmed request: BVLL
 * original-unicast, an NPDU routed back to the requester's network when it came through a router.
 */
export function encodeRejectOrAbort(kind: 'reject' | 'abort', invokeId: number, reason: number, route: Route | null): Buffer {
  const npdu = route ? [0x01, 0x20, route.net >> 8, route.net & 0xff, route.adr.length, ...route.adr, 0xff] : [0x01, 0x00];
  const apdu = kind === 'reject' ? [0x60, invokeId, reason] : [0x71, invokeId, reason];
  const length = 4 + npdu.length + apdu.length;
  return Buffer.from([BVLL_TYPE_BACNET_IP, 0x0a, length >> 8, length & 0xff, ...npdu, ...apdu]);
}
