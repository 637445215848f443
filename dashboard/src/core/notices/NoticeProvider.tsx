import { useCallback, useMemo, useState, type ReactNode } from 'react';
import { useI18n } from '../../i18n/useI18n.ts';
import { describeError } from '../describeError.ts';
import { NoticeContext, type Notices } from './NoticeContext.ts';
import { NoticeList, type Notice } from './NoticeList.tsx';

/** How many errors stay on screen: a flood of failures must not push the alarm list away. */
const MAX_NOTICES = 4;

export function NoticeProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [notices, setNotices] = useState<Notice[]>([]);

  const report = useCallback(
    (error: unknown) => {
      const { title, detail } = describeError(error, t);
      setNotices((current) => {
        // The same failure repeated (e.g. every retry) is one message, not a stack.
        const rest = current.filter((n) => n.title !== title || n.detail !== detail);
        return [...rest, { id: crypto.randomUUID(), title, detail }].slice(-MAX_NOTICES);
      });
    },
    [t],
  );
  const onDismiss = useCallback((id: string) => setNotices((current) => current.filter((n) => n.id !== id)), []);

  const value = useMemo<Notices>(() => ({ report }), [report]);
  return (
    <NoticeContext.Provider value={value}>
      <NoticeList notices={notices} onDismiss={onDismiss} />
      {children}
    </NoticeContext.Provider>
  );
}
