import type { Alarm } from '../../model.ts';
import { formatDateTime, formatTime } from '../../format/formatDateTime.ts';
import { formatValue } from '../../format/formatValue.ts';
import { useI18n } from '../../i18n/useI18n.ts';

interface AlarmDetailsProps {
  alarm: Alarm;
  timeZone: string;
  unit: string | undefined;
}

/** What to do (the procedure) and why the alarm fired (rule, limit, the deciding samples). */
export function AlarmDetails({ alarm, timeZone, unit }: AlarmDetailsProps) {
  const { t } = useI18n();
  const { explanation } = alarm;
  const words = { on: t('value.on'), off: t('value.off') };
  // Limits are configured numbers: shown exactly as written in the site file, not rounded like readings.
  const configured = (n: number) => (unit ? `${n} ${unit}` : String(n));
  return (
    <div className="alarm-details">
      <div className="alarm-procedure">
        <h3>{t('alarms.procedure')}</h3>
        {alarm.procedure ? <p className="procedure-text">{alarm.procedure}</p> : <p className="muted">{t('alarms.noProcedure')}</p>}
      </div>
      <div className="alarm-explanation">
        <h3>{t('alarms.explanation')}</h3>
        <dl>
          <dt>{t('alarms.rule')}</dt>
          <dd>{explanation.rule}</dd>
          {explanation.limit !== undefined && (
            <>
              <dt>{t('alarms.limit')}</dt>
              <dd>{configured(explanation.limit)}</dd>
            </>
          )}
          {explanation.deadband !== undefined && (
            <>
              <dt>{t('alarms.deadband')}</dt>
              <dd>{configured(explanation.deadband)}</dd>
            </>
          )}
          {explanation.onDelayMs !== undefined && (
            <>
              <dt>{t('alarms.onDelay')}</dt>
              <dd>{explanation.onDelayMs / 1000} s</dd>
            </>
          )}
          {alarm.point && (
            <>
              <dt>{t('alarms.point')}</dt>
              <dd className="mono">{alarm.point}</dd>
            </>
          )}
          <dt>{t('alarms.category')}</dt>
          <dd>{alarm.category}</dd>
          <dt>{t('alarms.condition')}</dt>
          <dd>{alarm.conditionActive ? t('alarms.conditionActive') : t('alarms.conditionCleared')}</dd>
          {alarm.ticketId && (
            <>
              <dt>{t('alarms.ticket')}</dt>
              <dd className="mono">{alarm.ticketId}</dd>
            </>
          )}
          {explanation.values.length > 0 && (
            <>
              <dt>{t('alarms.values')}</dt>
              <dd>
                <ol className="explanation-values">
                  {explanation.values.map((sample, index) => (
                    <li key={index}>
                      <time dateTime={new Date(sample.ts).toISOString()}>{formatTime(sample.ts, timeZone)}</time>{' '}
                      <span className="num">{formatValue(sample.value, unit, words)}</span>
                    </li>
                  ))}
                </ol>
              </dd>
            </>
          )}
        </dl>
        {alarm.ackedBy && alarm.ackedAt !== undefined && (
          <p className="muted">{t('alarms.ackedBy', { user: alarm.ackedBy, time: formatDateTime(alarm.ackedAt, timeZone) })}</p>
        )}
      </div>
    </div>
  );
}
