import { describe, expect, it } from 'vitest';
import { ticketEventFor, ticketTransition } from './index.ts';

describe('ticket state machine', () => {
  it('walks open → assigned → accepted → in progress → resolved → closed', () => {
    expect(ticketTransition('open', { type: 'assign', assignee: 'technician' })).toEqual({ ok: true, status: 'assigned', assignee: 'technician' });
    expect(ticketTransition('assigned', { type: 'accept' })).toEqual({ ok: true, status: 'accepted' });
    expect(ticketTransition('accepted', { type: 'start' })).toEqual({ ok: true, status: 'in-progress' });
    expect(ticketTransition('in-progress', { type: 'resolve' })).toEqual({ ok: true, status: 'resolved' });
    expect(ticketTransition('resolved', { type: 'close' })).toEqual({ ok: true, status: 'closed' });
  });

  it('cancels any open ticket but never a closed one', () => {
    for (const s of ['open', 'assigned', 'accepted', 'in-progress'] as const) expect(ticketTransition(s, { type: 'cancel' }).ok).toBe(true);
    expect(ticketTransition('closed', { type: 'cancel' })).toEqual({ ok: false, reason: "a closed ticket cannot be moved by 'cancel'" });
  });

  it('refuses skipping steps and counts repeats only while open', () => {
    expect(ticketTransition('open', { type: 'resolve' }).ok).toBe(false);
    expect(ticketTransition('assigned', { type: 'start' }).ok).toBe(false);
    expect(ticketTransition('in-progress', { type: 'repeat' })).toEqual({ ok: true, status: 'in-progress' });
    expect(ticketTransition('resolved', { type: 'repeat' }).ok).toBe(false);
  });

  it('maps a move request to its event', () => {
    expect(ticketEventFor('accepted')).toBe('accept');
    expect(ticketEventFor('resolved')).toBe('resolve');
    expect(ticketEventFor('open')).toBeNull();
  });
});
