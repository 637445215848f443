/**
 * socket.io on the API's own HTTP server (fastify-socket.io does not support Fastify 5): pushes
 * alarm and ticket changes and live point values to authenticated dashboards.
 */
import type { FastifyPluginAsync } from 'fastify';
import { Server } from 'socket.io';
import { can, type Alarm, type Permission, type Sample, type Ticket } from '@vigil/model';
import { authenticate, type ApiContext } from '../context.ts';

/** The events a dashboard receives. */
export interface LiveEvents {
  alarm: (alarm: Alarm) => void;
  ticket: (ticket: Ticket) => void;
  points: (samples: { point: string; ts: number; value: number | boolean | string | null; quality: Sample['quality']; reason?: string }[]) => void;
}

/** Each event goes to the room of the permission that may read it. */
const ROOMS: Record<keyof LiveEvents, Permission> = { alarm: 'alarms:read', ticket: 'tickets:read', points: 'points:read' };

export const livePlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  const io = new Server<Record<string, never>, LiveEvents>(app.server, {
    path: '/socket.io',
    serveClient: false,
    // Same origin only: the dashboard is served by this server.
    cors: undefined,
    maxHttpBufferSize: 64 * 1024, // clients send us nothing but the handshake
  });

  io.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    const user = authenticate(ctx, token);
    if (!user) return next(new Error('unauthorized'));
    socket.data.user = user;
    next();
  });

  io.on('connection', (socket) => {
    const user = socket.data.user as { role: Parameters<typeof can>[0]; exp: number };
    for (const permission of Object.values(ROOMS)) if (can(user.role, permission)) void socket.join(permission);
    // A token expires: so does the live connection made with it (the client logs in again).
    const expiry = setTimeout(() => socket.disconnect(true), Math.min(user.exp - Date.now(), 2 ** 31 - 1));
    expiry.unref();
    socket.on('disconnect', () => clearTimeout(expiry));
  });

  const onAlarm = (alarm: Alarm) => io.to(ROOMS.alarm).emit('alarm', alarm);
  const onTicket = (ticket: Ticket) => io.to(ROOMS.ticket).emit('ticket', ticket);
  const onPoints = (samples: Sample[]) => io.to(ROOMS.points).emit('points', samples);
  ctx.bus.on('alarm', onAlarm);
  ctx.bus.on('ticket', onTicket);
  ctx.bus.on('points', onPoints);

  // Before the HTTP server closes: end the websockets, which would otherwise keep it open.
  app.addHook('preClose', async () => {
    ctx.bus.off('alarm', onAlarm);
    ctx.bus.off('ticket', onTicket);
    ctx.bus.off('points', onPoints);
    io.disconnectSockets(true);
    io.engine.close();
  });
};
