import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiClient } from '../../api/ApiClient.ts';
import type { LoginResponse, User } from '../../api/types.ts';
import { describeError } from '../../core/describeError.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { LoginPage } from './LoginPage.tsx';
import { SessionContext, type Session } from './SessionContext.ts';
import { sessionToken } from './sessionToken.ts';

type Phase =
  | { kind: 'checking'; token: string }
  | { kind: 'signed-out'; expired: boolean }
  | { kind: 'signed-in'; token: string; user: User }
  | { kind: 'unreachable'; token: string; error: unknown };

interface SessionGateProps {
  /** What a signed-in user sees; rendered inside the session. */
  children: ReactNode;
}

/** Login, the token's lifetime, and the rule that any 401 (HTTP or socket) returns to the login screen. */
export function SessionGate({ children }: SessionGateProps) {
  const { t } = useI18n();
  const [phase, setPhase] = useState<Phase>(() => {
    const token = sessionToken.load();
    return token ? { kind: 'checking', token } : { kind: 'signed-out', expired: false };
  });

  const onUnauthorized = useCallback(() => {
    sessionToken.clear();
    setPhase((current) => (current.kind === 'signed-out' ? current : { kind: 'signed-out', expired: true }));
  }, []);

  const onSignOut = useCallback(() => {
    sessionToken.clear();
    setPhase({ kind: 'signed-out', expired: false });
  }, []);

  const onSignedIn = useCallback(({ token, user }: LoginResponse) => {
    sessionToken.save(token);
    setPhase({ kind: 'signed-in', token, user });
  }, []);

  const token = phase.kind === 'signed-out' ? null : phase.token;
  const api = useMemo(() => (token ? new ApiClient(token, onUnauthorized) : null), [token, onUnauthorized]);

  // A token kept from before a reload: ask who it belongs to (a 401 lands on the login screen).
  const checking = phase.kind === 'checking';
  useEffect(() => {
    if (!checking || !api || !token) return;
    let cancelled = false;
    api.me().then(
      (user) => !cancelled && setPhase({ kind: 'signed-in', token, user }),
      (error: unknown) => !cancelled && setPhase((current) => (current.kind === 'checking' ? { kind: 'unreachable', token, error } : current)),
    );
    return () => {
      cancelled = true;
    };
  }, [checking, api, token]);

  const session = useMemo<Session | null>(
    () => (phase.kind === 'signed-in' && api ? { token: phase.token, user: phase.user, api, onSignOut, onUnauthorized } : null),
    [phase, api, onSignOut, onUnauthorized],
  );

  if (phase.kind === 'signed-out') return <LoginPage notice={phase.expired ? t('login.expired') : undefined} onSignedIn={onSignedIn} />;
  if (phase.kind === 'checking') return <p className="page-message">{t('login.checking')}</p>;
  if (phase.kind === 'unreachable') {
    const { title, detail } = describeError(phase.error, t);
    return (
      <main className="page-message" role="alert">
        <p>
          <strong>{title}</strong> {detail}
        </p>
        <button type="button" onClick={() => setPhase({ kind: 'checking', token: phase.token })}>
          {t('common.retry')}
        </button>
        <button type="button" onClick={onSignOut}>
          {t('header.signOut')}
        </button>
      </main>
    );
  }
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
