import { formatDateTime } from '../../format/formatDateTime.ts';
import { useI18n } from '../../i18n/useI18n.ts';

interface StaleBannerProps {
  since: number;
  timeZone: string;
}

/** Across the whole width: a stale console that looks calm is the worst failure a control room can have. */
export function StaleBanner({ since, timeZone }: StaleBannerProps) {
  const { t } = useI18n();
  return <div className="stale-banner">{t('live.stale', { time: formatDateTime(since, timeZone) })}</div>;
}
