import type { ReactNode } from 'react';
import { describeError } from './describeError.ts';
import { useI18n } from '../i18n/useI18n.ts';

interface PanelProps {
  id: string;
  title: string;
  /** A short live summary beside the title (counts). */
  summary?: ReactNode;
  actions?: ReactNode;
  /** The last load failed: shown above whatever is still on screen, with a retry. */
  error?: unknown;
  onRetry?: () => void;
  children: ReactNode;
}

/** One console section: a heading, its load error if any, and its content. */
export function Panel({ id, title, summary, actions, error, onRetry, children }: PanelProps) {
  const { t } = useI18n();
  const headingId = `${id}-heading`;
  let failure: ReactNode = null;
  if (error) {
    const { title: errorTitle, detail } = describeError(error, t);
    failure = (
      <div className="panel-error" role="alert">
        <span>{t('common.loadFailed', { message: `${errorTitle}: ${detail}` })}</span>
        {onRetry && (
          <button type="button" onClick={onRetry}>
            {t('common.retry')}
          </button>
        )}
      </div>
    );
  }
  return (
    <section className={`panel panel-${id}`} aria-labelledby={headingId}>
      <header className="panel-header">
        <h2 id={headingId}>{title}</h2>
        {summary && <span className="panel-summary">{summary}</span>}
        {actions && <span className="panel-actions">{actions}</span>}
      </header>
      {failure}
      {children}
    </section>
  );
}
