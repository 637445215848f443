import { useLiveStatus } from '../../api/useLiveStatus.ts';
import { describeError } from '../../core/describeError.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { AlarmsPanel } from '../alarms/AlarmsPanel.tsx';
import { useCan } from '../auth/useCan.ts';
import { PointsPanel } from '../points/PointsPanel.tsx';
import { SiteContext } from '../site/SiteContext.ts';
import { useSiteModel } from '../site/useSiteModel.ts';
import { SimulatorsPanel } from '../simulators/SimulatorsPanel.tsx';
import { TicketsPanel } from '../tickets/TicketsPanel.tsx';
import { ConsoleHeader } from './ConsoleHeader.tsx';
import { StaleBanner } from './StaleBanner.tsx';

/** The one page after sign-in: alarms on top (what needs a person now), then tickets, values, simulators. */
export function ConsolePage() {
  const { t } = useI18n();
  const status = useLiveStatus();
  const { model, error, reload } = useSiteModel();
  const canSeeSimulators = useCan('simulators:read');
  const stale = status.state === 'reconnecting';

  let body;
  if (model) {
    body = (
      <SiteContext.Provider value={model}>
        <AlarmsPanel />
        <div className="console-columns">
          <TicketsPanel />
          <PointsPanel />
        </div>
        {canSeeSimulators && <SimulatorsPanel />}
      </SiteContext.Provider>
    );
  } else if (error) {
    const { title, detail } = describeError(error, t);
    body = (
      <div className="page-message" role="alert">
        <p>{t('common.loadFailed', { message: `${title}: ${detail}` })}</p>
        <button type="button" onClick={reload}>
          {t('common.retry')}
        </button>
      </div>
    );
  } else {
    body = <p className="page-message">{t('common.loading')}</p>;
  }

  return (
    <div className={stale ? 'console stale' : 'console'}>
      <div className="console-top">
        <ConsoleHeader site={model?.site ?? null} liveState={status.state} />
        {stale && status.staleSince !== null && <StaleBanner since={status.staleSince} timeZone={model?.site.timezone ?? 'UTC'} />}
      </div>
      <main className="console-main">{body}</main>
    </div>
  );
}
