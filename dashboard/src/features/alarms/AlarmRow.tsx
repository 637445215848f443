import type { MouseEvent } from 'react';
import type { Alarm } from '../../model.ts';
import { AssetLabel } from '../../core/AssetLabel.tsx';
import { PriorityBadge } from '../../core/PriorityBadge.tsx';
import { formatDateTime } from '../../format/formatDateTime.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { AlarmDetails } from './AlarmDetails.tsx';
import { isUnacknowledged } from './mergeAlarm.ts';

export const ALARM_COLUMNS = 7;

interface AlarmRowProps {
  alarm: Alarm;
  assetName: string;
  timeZone: string;
  unit: string | undefined;
  expanded: boolean;
  canAcknowledge: boolean;
  acknowledging: boolean;
  onToggle: (alarmId: string) => void;
  onAcknowledge: (alarm: Alarm) => void;
}

/** One alarm as a row, and its details row below when expanded. A click anywhere on the row expands it. */
export function AlarmRow({ alarm, assetName, timeZone, unit, expanded, canAcknowledge, acknowledging, onToggle, onAcknowledge }: AlarmRowProps) {
  const { t } = useI18n();
  const unacked = isUnacknowledged(alarm.state);
  const detailsId = `alarm-details-${alarm.id}`;

  function onAckClick(event: MouseEvent) {
    // Acknowledging is not a request to open the row.
    event.stopPropagation();
    onAcknowledge(alarm);
  }

  return (
    <tbody className={expanded ? 'expanded' : undefined}>
      <tr
        className={`alarm-row priority-row-${alarm.priority}${unacked ? ' unacked' : ''}`}
        data-alarm-id={alarm.id}
        data-state={alarm.state}
        onClick={() => onToggle(alarm.id)}
      >
        <td className="toggle-cell">
          {/* The row's click handler does the work; the button makes it reachable by keyboard. */}
          <button type="button" className="toggle" aria-expanded={expanded} aria-controls={detailsId} aria-label={t('alarms.details')}>
            {expanded ? '▾' : '▸'}
          </button>
        </td>
        <td>
          <PriorityBadge priority={alarm.priority} />
        </td>
        <td className="num">
          <time dateTime={new Date(alarm.raisedAt).toISOString()}>{formatDateTime(alarm.raisedAt, timeZone)}</time>
        </td>
        <td>
          <AssetLabel id={alarm.asset} name={assetName} />
        </td>
        <td className="message">{alarm.message}</td>
        <td>
          <span className={`state state-${alarm.state}`}>{t(`alarmState.${alarm.state}`)}</span>
        </td>
        <td className="action-cell">
          {unacked && canAcknowledge && (
            <button type="button" className="primary" disabled={acknowledging} aria-busy={acknowledging} onClick={onAckClick}>
              {t('alarms.acknowledge')}
            </button>
          )}
        </td>
      </tr>
      {expanded && (
        <tr className="details-row" id={detailsId}>
          <td colSpan={ALARM_COLUMNS}>
            <AlarmDetails alarm={alarm} timeZone={timeZone} unit={unit} />
          </td>
        </tr>
      )}
    </tbody>
  );
}
