import type { LiveState } from '../../api/LiveConnection.ts';
import type { MessageKey } from '../../i18n/dictionary.ts';
import { useI18n } from '../../i18n/useI18n.ts';

const LABELS: Record<LiveState, MessageKey> = {
  connecting: 'live.connecting',
  live: 'live.live',
  reconnecting: 'live.reconnecting',
};

/** The page's one role="status": whether what the operator sees is live. */
export function ConnectionIndicator({ state }: { state: LiveState }) {
  const { t } = useI18n();
  return (
    <div className={`connection connection-${state}`} role="status" data-state={state}>
      <span className="connection-dot" aria-hidden="true" />
      {t(LABELS[state])}
    </div>
  );
}
