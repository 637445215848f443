import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/ApiError.ts';
import { login } from '../../api/login.ts';
import type { LoginResponse } from '../../api/types.ts';
import { LanguageSwitch } from '../../i18n/LanguageSwitch.tsx';
import { useI18n } from '../../i18n/useI18n.ts';
import { describeError } from '../../core/describeError.ts';

interface LoginPageProps {
  /** Why the user is here again (the last session ended), if they did not sign out themselves. */
  notice?: string | undefined;
  onSignedIn: (result: LoginResponse) => void;
}

export function LoginPage({ notice, onSignedIn }: LoginPageProps) {
  const { t } = useI18n();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await login(username, password));
    } catch (failure) {
      setError(loginError(failure));
      setBusy(false);
    }
  }

  function loginError(failure: unknown): string {
    if (failure instanceof ApiError && failure.status === 401) return t('login.wrong');
    if (failure instanceof ApiError && failure.status === 429) {
      return failure.retryAfter ? t('login.tooManyWait', { seconds: Math.ceil(failure.retryAfter) }) : t('login.tooMany');
    }
    const { title, detail } = describeError(failure, t);
    return t('login.failed', { message: `${title}: ${detail}` });
  }

  return (
    <main className="login">
      <div className="login-language">
        <LanguageSwitch />
      </div>
      <form className="login-form" onSubmit={onSubmit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span className="brand">{t('app.name')}</span> {t('login.title')}
        </h1>
        {notice && !error && <p className="login-notice">{notice}</p>}
        {error && (
          <p className="login-error" role="alert">
            {error}
          </p>
        )}
        <label htmlFor="login-username">{t('login.username')}</label>
        <input
          id="login-username"
          name="username"
          autoComplete="username"
          required
          autoFocus
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <label htmlFor="login-password">{t('login.password')}</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {/* The name stays "Sign in" while busy, so nobody (and no test) loses the button mid-request. */}
        <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
          {t('login.submit')}
        </button>
      </form>
    </main>
  );
}
