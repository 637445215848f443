import { useMemo } from 'react';
import { Panel } from '../../core/Panel.tsx';
import { formatRecent } from '../../format/formatDateTime.ts';
import { useNow } from '../../core/useNow.ts';
import { formatValue } from '../../format/formatValue.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { useSite } from '../site/useSite.ts';
import { usePointValues } from './usePointValues.ts';

interface PointLine {
  id: string;
  label: string;
  unit: string | undefined;
}

const COLUMNS = 4;

export function PointsPanel() {
  const { t } = useI18n();
  const { site, assets } = useSite();
  const points = useMemo<PointLine[]>(
    () =>
      assets.flatMap((asset) =>
        asset.points.map((point) => ({
          id: point.id,
          // The id already names asset and point; a name is added only where the site file gives one.
          label: point.name ? `${asset.name} · ${point.name}` : asset.name,
          unit: point.unit,
        })),
      ),
    [assets],
  );
  const pointIds = useMemo(() => points.map((p) => p.id), [points]);
  const { values, error, reload } = usePointValues(pointIds);
  const now = useNow(60_000);
  const words = { on: t('value.on'), off: t('value.off') };

  return (
    <Panel id="points" title={t('points.title')} error={error} onRetry={reload}>
      <table className="table points-table" aria-label={t('points.title')}>
        <thead>
          <tr>
            <th scope="col">{t('points.col.point')}</th>
            <th scope="col" className="num">
              {t('points.col.value')}
            </th>
            <th scope="col">{t('points.col.quality')}</th>
            <th scope="col">{t('points.col.time')}</th>
          </tr>
        </thead>
        <tbody>
          {points.length === 0 && (
            <tr className="placeholder-row">
              <td colSpan={COLUMNS}>{t('points.empty')}</td>
            </tr>
          )}
          {points.map((point) => {
            const sample = values.get(point.id);
            return (
              <tr key={point.id} data-point-id={point.id} data-quality={sample?.quality ?? 'none'} className={sample ? `quality-${sample.quality}` : 'no-value'}>
                <th scope="row">
                  {point.label} <span className="mono id">{point.id}</span>
                </th>
                <td className="num value">{sample ? formatValue(sample.value, point.unit, words) : <span className="muted">{t('points.noValue')}</span>}</td>
                <td>
                  {sample && (
                    <span className={`quality quality-badge-${sample.quality}`}>
                      {sample.quality !== 'good' && sample.reason
                        ? t('quality.withReason', { quality: t(`quality.${sample.quality}`), reason: sample.reason })
                        : t(`quality.${sample.quality}`)}
                    </span>
                  )}
                </td>
                <td className="num">
                  {sample && <time dateTime={new Date(sample.ts).toISOString()}>{formatRecent(sample.ts, now, site.timezone)}</time>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Panel>
  );
}
