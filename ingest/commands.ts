/**
 * Operator commands (DESIGN.md, "Bus topics": `commands/<kind>`), validated and applied to the alarm
 * and ticket engines inside one state transaction. Each answers with the record it changed.
 */
import {
  alarmAckCommand,
  alarmCommentCommand,
  alarmResetCommand,
  alarmShelveCommand,
  alarmUnshelveCommand,
  assetModeCommand,
  COMMAND_KINDS,
  ticketMoveCommand,
  type Alarm,
  type AssetModeResult,
  type CommandKind,
  type Ticket,
} from '@vigil/model';
import type { AlarmChanges, AlarmEngine } from './alarm-engine.ts';
import type { TicketEngine } from './ticket-engine.ts';
import type { SqliteStateStore } from './state-store.ts';
import { fail, type Outcome } from './outcome.ts';

export interface CommandRun {
  outcome: Outcome<Alarm | Ticket | AssetModeResult>;
  changes: AlarmChanges;
  /** The command did not match its schema (counted as an invalid message). */
  invalid?: string;
}

const isKind = (kind: string): kind is CommandKind => (COMMAND_KINDS as readonly string[]).includes(kind);

export function runCommand(kind: string, raw: unknown, engines: { alarms: AlarmEngine; tickets: TicketEngine; state: SqliteStateStore }): CommandRun {
  const { alarms, tickets, state } = engines;
  const none: AlarmChanges = { alarms: [], tickets: [] };
  if (!isKind(kind)) {
    const message = `unknown command kind '${kind}'; known: ${COMMAND_KINDS.join(', ')}`;
    return { outcome: fail('invalid', message), changes: none, invalid: message };
  }
  const bad = (error: string): CommandRun => ({ outcome: fail('invalid', error), changes: none, invalid: error });
  const withAlarm = (apply: () => Outcome<Alarm>): CommandRun => {
    const outcome = state.transaction(apply);
    const extra = alarms.takeTickets();
    return { outcome, changes: outcome.ok ? { alarms: [outcome.value], tickets: extra } : { alarms: [], tickets: extra } };
  };

  switch (kind) {
    case 'alarm-ack': {
      const cmd = alarmAckCommand.check(raw);
      return cmd.ok ? withAlarm(() => alarms.ack(cmd.value.alarmId, cmd.value.user, cmd.value.reason)) : bad(cmd.error);
    }
    case 'alarm-shelve': {
      const cmd = alarmShelveCommand.check(raw);
      return cmd.ok ? withAlarm(() => alarms.shelve(cmd.value.alarmId, cmd.value.user, cmd.value.reason, cmd.value.until)) : bad(cmd.error);
    }
    case 'alarm-unshelve': {
      const cmd = alarmUnshelveCommand.check(raw);
      return cmd.ok ? withAlarm(() => alarms.unshelve(cmd.value.alarmId, cmd.value.user, cmd.value.reason)) : bad(cmd.error);
    }
    case 'alarm-reset': {
      const cmd = alarmResetCommand.check(raw);
      return cmd.ok ? withAlarm(() => alarms.reset(cmd.value.alarmId, cmd.value.user, cmd.value.reason)) : bad(cmd.error);
    }
    case 'alarm-comment': {
      const cmd = alarmCommentCommand.check(raw);
      return cmd.ok ? withAlarm(() => alarms.comment(cmd.value.alarmId, cmd.value.user, cmd.value.text)) : bad(cmd.error);
    }
    case 'asset-maintenance':
    case 'asset-out-of-service': {
      const cmd = assetModeCommand.check(raw);
      if (!cmd.ok) return bad(cmd.error);
      const mode = kind === 'asset-maintenance' ? 'maintenance' : 'out-of-service';
      const outcome = state.transaction(() => alarms.setAssetMode(cmd.value.asset, mode, cmd.value.on, cmd.value.user, cmd.value.reason));
      const extra = alarms.takeTickets();
      return { outcome, changes: { alarms: outcome.ok ? outcome.value.alarms : [], tickets: extra } };
    }
    case 'ticket-move': {
      const cmd = ticketMoveCommand.check(raw);
      if (!cmd.ok) return bad(cmd.error);
      const outcome = state.transaction(() => tickets.move(cmd.value.ticketId, cmd.value.to, cmd.value.user, cmd.value.reason));
      return { outcome, changes: { alarms: [], tickets: outcome.ok ? [outcome.value] : [] } };
    }
  }
}
