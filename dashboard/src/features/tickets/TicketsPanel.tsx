import { useCallback, useState } from 'react';
import type { Ticket, TicketStatus } from '../../model.ts';
import { Panel } from '../../core/Panel.tsx';
import { useNotices } from '../../core/notices/useNotices.ts';
import { useNow } from '../../core/useNow.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { useCan } from '../auth/useCan.ts';
import { useSession } from '../auth/useSession.ts';
import { useSite } from '../site/useSite.ts';
import { TicketRow } from './TicketRow.tsx';
import { ticketMoves } from './ticketMoves.ts';
import { useTickets } from './useTickets.ts';

const COLUMNS = 9;
/** SLA countdowns are in minutes: a refresh every 15 s keeps them honest. */
const CLOCK_MS = 15_000;

export function TicketsPanel() {
  const { t } = useI18n();
  const { api, user } = useSession();
  const { site, assetName } = useSite();
  const { report } = useNotices();
  const canWork = useCan('tickets:work');
  const now = useNow(CLOCK_MS);
  const { tickets, error, reload, apply } = useTickets();
  const [moving, setMoving] = useState<ReadonlySet<string>>(new Set());

  const onMove = useCallback(
    (ticket: Ticket, to: TicketStatus) => {
      setMoving((current) => new Set(current).add(ticket.id));
      api
        .moveTicket(ticket.id, to)
        .then(apply, report)
        .finally(() =>
          setMoving((current) => {
            const next = new Set(current);
            next.delete(ticket.id);
            return next;
          }),
        );
    },
    [api, apply, report],
  );

  return (
    <Panel id="tickets" title={t('tickets.title')} error={error} onRetry={reload}>
      <table className="table tickets-table" aria-label={t('tickets.title')}>
        <thead>
          <tr>
            <th scope="col">{t('tickets.col.number')}</th>
            <th scope="col">{t('tickets.col.priority')}</th>
            <th scope="col">{t('tickets.col.title')}</th>
            <th scope="col">{t('tickets.col.asset')}</th>
            <th scope="col">{t('tickets.col.assignee')}</th>
            <th scope="col">{t('tickets.col.status')}</th>
            <th scope="col">{t('tickets.col.count')}</th>
            <th scope="col">{t('tickets.col.responseDue')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('tickets.col.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tickets === null && !error && (
            <tr className="placeholder-row">
              <td colSpan={COLUMNS}>{t('common.loading')}</td>
            </tr>
          )}
          {tickets?.length === 0 && (
            <tr className="placeholder-row">
              <td colSpan={COLUMNS}>{t('tickets.empty')}</td>
            </tr>
          )}
          {tickets?.map((ticket) => (
            <TicketRow
              key={ticket.id}
              ticket={ticket}
              assetName={assetName(ticket.asset)}
              timeZone={site.timezone}
              now={now}
              moves={ticketMoves(ticket, user, canWork)}
              moving={moving.has(ticket.id)}
              onMove={onMove}
            />
          ))}
        </tbody>
      </table>
    </Panel>
  );
}
