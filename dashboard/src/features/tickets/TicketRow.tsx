import type { Ticket, TicketStatus } from '../../model.ts';
import { AssetLabel } from '../../core/AssetLabel.tsx';
import { PriorityBadge } from '../../core/PriorityBadge.tsx';
import { dueStatus } from '../../format/dueStatus.ts';
import { formatDateTime } from '../../format/formatDateTime.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import type { TicketMove } from './ticketMoves.ts';
import { awaitsResponse } from './sortTickets.ts';

interface TicketRowProps {
  ticket: Ticket;
  assetName: string;
  timeZone: string;
  now: number;
  moves: TicketMove[];
  moving: boolean;
  onMove: (ticket: Ticket, to: TicketStatus) => void;
}

export function TicketRow({ ticket, assetName, timeZone, now, moves, moving, onMove }: TicketRowProps) {
  const { t } = useI18n();
  const due = dueStatus(ticket.responseDue, now);
  // Once accepted, the response SLA is met or missed for good; only a waiting ticket can be overdue.
  const overdue = awaitsResponse(ticket) && due.overdue;
  return (
    <tr className={`ticket-row${overdue ? ' overdue' : ''}`} data-ticket-id={ticket.id} data-status={ticket.status}>
      <td className="mono">{ticket.number}</td>
      <td>
        <PriorityBadge priority={ticket.priority} />
      </td>
      <td>{ticket.title}</td>
      <td>
        <AssetLabel id={ticket.asset} name={assetName} />
      </td>
      <td>{ticket.assignee ?? <span className="muted">{t('tickets.unassigned')}</span>}</td>
      <td>
        <span className={`status status-${ticket.status}`}>{t(`ticketStatus.${ticket.status}`)}</span>
      </td>
      <td className="num">{ticket.count > 1 ? t('tickets.count', { count: ticket.count }) : ''}</td>
      <td className="num">
        <time dateTime={new Date(ticket.responseDue).toISOString()}>{formatDateTime(ticket.responseDue, timeZone)}</time>
        {awaitsResponse(ticket) && (
          <span className={overdue ? 'due overdue-badge' : 'due'}>
            {overdue ? `${t('tickets.overdue')} · ${t('tickets.overdueBy', { minutes: due.minutes })}` : t('tickets.dueIn', { minutes: due.minutes })}
          </span>
        )}
      </td>
      <td className="action-cell">
        {moves.map((move) => (
          <button key={move.to} type="button" disabled={moving} aria-busy={moving} onClick={() => onMove(ticket, move.to)}>
            {t(move.label)}
          </button>
        ))}
      </td>
    </tr>
  );
}
