import { useCallback, useState } from 'react';
import type { Alarm } from '../../model.ts';
import { Panel } from '../../core/Panel.tsx';
import { useNotices } from '../../core/notices/useNotices.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { useCan } from '../auth/useCan.ts';
import { useSession } from '../auth/useSession.ts';
import { useSite } from '../site/useSite.ts';
import { ALARM_COLUMNS, AlarmRow } from './AlarmRow.tsx';
import { isUnacknowledged } from './mergeAlarm.ts';
import { useActiveAlarms } from './useActiveAlarms.ts';

export function AlarmsPanel() {
  const { t } = useI18n();
  const { api } = useSession();
  const { site, assetName, pointUnit } = useSite();
  const { report } = useNotices();
  const canAcknowledge = useCan('alarms:ack');
  const { alarms, error, reload, apply } = useActiveAlarms();
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [acknowledging, setAcknowledging] = useState<ReadonlySet<string>>(new Set());

  const onToggle = useCallback((alarmId: string) => {
    setExpanded((current) => {
      const next = new Set(current);
      if (!next.delete(alarmId)) next.add(alarmId);
      return next;
    });
  }, []);

  const onAcknowledge = useCallback(
    (alarm: Alarm) => {
      setAcknowledging((current) => new Set(current).add(alarm.id));
      api
        .acknowledge(alarm.id)
        .then(apply, report)
        .finally(() =>
          setAcknowledging((current) => {
            const next = new Set(current);
            next.delete(alarm.id);
            return next;
          }),
        );
    },
    [api, apply, report],
  );

  const unacked = alarms?.filter((a) => isUnacknowledged(a.state)).length ?? 0;
  return (
    <Panel
      id="alarms"
      title={t('alarms.title')}
      summary={alarms && alarms.length > 0 ? t('alarms.summary', { total: alarms.length, unacked }) : null}
      error={error}
      onRetry={reload}
    >
      <table className="table alarms-table" aria-label={t('alarms.title')}>
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">{t('alarms.details')}</span>
            </th>
            <th scope="col">{t('alarms.col.priority')}</th>
            <th scope="col">{t('alarms.col.raised')}</th>
            <th scope="col">{t('alarms.col.asset')}</th>
            <th scope="col">{t('alarms.col.message')}</th>
            <th scope="col">{t('alarms.col.state')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('alarms.col.action')}</span>
            </th>
          </tr>
        </thead>
        {alarms === null && !error && <PlaceholderBody text={t('common.loading')} />}
        {alarms?.length === 0 && <PlaceholderBody text={t('alarms.empty')} />}
        {alarms?.map((alarm) => (
          <AlarmRow
            key={alarm.id}
            alarm={alarm}
            assetName={assetName(alarm.asset)}
            timeZone={site.timezone}
            unit={alarm.point ? pointUnit(alarm.point) : undefined}
            expanded={expanded.has(alarm.id)}
            canAcknowledge={canAcknowledge}
            acknowledging={acknowledging.has(alarm.id)}
            onToggle={onToggle}
            onAcknowledge={onAcknowledge}
          />
        ))}
      </table>
    </Panel>
  );
}

function PlaceholderBody({ text }: { text: string }) {
  return (
    <tbody>
      <tr className="placeholder-row">
        <td colSpan={ALARM_COLUMNS}>{text}</td>
      </tr>
    </tbody>
  );
}
