import { PRIORITY_NAMES, type Priority } from '../model.ts';
import { useI18n } from '../i18n/useI18n.ts';

/** Colour and word together: the colour is for a glance from across the room, the word for everyone. */
export function PriorityBadge({ priority }: { priority: Priority }) {
  const { t } = useI18n();
  return (
    <span className={`priority priority-${PRIORITY_NAMES[priority]}`}>
      <span className="priority-swatch" aria-hidden="true" />
      {t(`priority.${priority}`)}
    </span>
  );
}
