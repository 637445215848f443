import { LiveProvider } from './api/LiveProvider.tsx';
import { AppErrorBoundary } from './core/AppErrorBoundary.tsx';
import { NoticeProvider } from './core/notices/NoticeProvider.tsx';
import { SessionGate } from './features/auth/SessionGate.tsx';
import { useSession } from './features/auth/useSession.ts';
import { ConsolePage } from './features/console/ConsolePage.tsx';
import { I18nProvider } from './i18n/I18nProvider.tsx';

export function App() {
  return (
    <I18nProvider>
      <AppErrorBoundary>
        <NoticeProvider>
          <SessionGate>
            <LiveConsole />
          </SessionGate>
        </NoticeProvider>
      </AppErrorBoundary>
    </I18nProvider>
  );
}

/** The socket lives exactly as long as the session. */
function LiveConsole() {
  const { token, onUnauthorized } = useSession();
  return (
    <LiveProvider token={token} onUnauthorized={onUnauthorized}>
      <ConsolePage />
    </LiveProvider>
  );
}
