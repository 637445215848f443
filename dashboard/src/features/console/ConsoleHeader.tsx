import type { LiveState } from '../../api/LiveConnection.ts';
import { LanguageSwitch } from '../../i18n/LanguageSwitch.tsx';
import { useI18n } from '../../i18n/useI18n.ts';
import type { SiteInfo } from '../../api/types.ts';
import { useSession } from '../auth/useSession.ts';
import { ConnectionIndicator } from './ConnectionIndicator.tsx';

interface ConsoleHeaderProps {
  /** null while the site model is loading. */
  site: SiteInfo | null;
  liveState: LiveState;
}

export function ConsoleHeader({ site, liveState }: ConsoleHeaderProps) {
  const { t } = useI18n();
  const { user, onSignOut } = useSession();
  return (
    <header className="console-header">
      <div className="site">
        <span className="brand">{t('app.name')}</span>
        <h1>{site?.name ?? '…'}</h1>
        {site && <span className="muted timezone">{t('header.timezone', { timezone: site.timezone })}</span>}
      </div>
      <ConnectionIndicator state={liveState} />
      <div className="header-tools">
        <span className="user" data-role={user.role}>
          {t('header.user', { name: user.name, role: t(`role.${user.role}`) })}
        </span>
        <LanguageSwitch />
        <button type="button" onClick={onSignOut}>
          {t('header.signOut')}
        </button>
      </div>
    </header>
  );
}
