import { useI18n } from '../../i18n/useI18n.ts';

export interface Notice {
  id: string;
  title: string;
  detail: string;
}

interface NoticeListProps {
  notices: Notice[];
  onDismiss: (id: string) => void;
}

export function NoticeList({ notices, onDismiss }: NoticeListProps) {
  const { t } = useI18n();
  if (notices.length === 0) return null;
  return (
    <div className="notices">
      {notices.map((notice) => (
        <div key={notice.id} className="notice" role="alert">
          <p>
            <strong>{notice.title}</strong> {notice.detail}
          </p>
          <button type="button" onClick={() => onDismiss(notice.id)}>
            {t('common.dismiss')}
          </button>
        </div>
      ))}
    </div>
  );
}
