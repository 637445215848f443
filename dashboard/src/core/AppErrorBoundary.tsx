import { Component, type ErrorInfo, type ReactNode } from 'react';
import { I18nContext, type I18n } from '../i18n/I18nContext.ts';

interface State {
  error: Error | null;
}

/** A render error shows a message and a way back instead of a blank control-room screen. */
export class AppErrorBoundary extends Component<{ children: ReactNode }, State> {
  static override contextType = I18nContext;
  declare context: I18n;
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(error, info.componentStack);
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    const { t } = this.context;
    return (
      <main className="crash" role="alert">
        <h1>{t('error.crash')}</h1>
        <p>{error.message}</p>
        <button type="button" onClick={() => location.reload()}>
          {t('error.reload')}
        </button>
      </main>
    );
  }
}
