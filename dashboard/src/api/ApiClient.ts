import { ApiError } from './ApiError.ts';
import type { Alarm, AssetsResponse, PointValue, SimDevice, Ticket, User } from './types.ts';
import type { TicketStatus } from '../model.ts';

/** The authenticated HTTP API. Any 401 means the session is over, wherever it happens. */
export class ApiClient {
  readonly #token: string;
  readonly #onUnauthorized: () => void;

  constructor(token: string, onUnauthorized: () => void) {
    this.#token = token;
    this.#onUnauthorized = onUnauthorized;
  }

  me(): Promise<User> {
    return this.#request('GET', '/api/me');
  }

  assets(): Promise<AssetsResponse> {
    return this.#request('GET', '/api/assets');
  }

  /** The newest value of a point, or null when it has none yet (404). */
  async latest(pointId: string): Promise<PointValue | null> {
    try {
      return await this.#request<PointValue>('GET', `/api/points/${encodeURIComponent(pointId)}/latest`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  async activeAlarms(): Promise<Alarm[]> {
    return (await this.#request<{ alarms: Alarm[] }>('GET', '/api/alarms?state=active')).alarms;
  }

  async acknowledge(alarmId: string): Promise<Alarm> {
    return (await this.#request<{ alarm: Alarm }>('POST', `/api/alarms/${encodeURIComponent(alarmId)}/ack`, {})).alarm;
  }

  async tickets(): Promise<Ticket[]> {
    return (await this.#request<{ tickets: Ticket[] }>('GET', '/api/tickets')).tickets;
  }

  async moveTicket(ticketId: string, to: TicketStatus): Promise<Ticket> {
    return (await this.#request<{ ticket: Ticket }>('POST', `/api/tickets/${encodeURIComponent(ticketId)}/move`, { to })).ticket;
  }

  async simulators(): Promise<SimDevice[]> {
    return (await this.#request<{ devices: SimDevice[] }>('GET', '/api/simulators')).devices;
  }

  async injectFault(device: string, fault: string): Promise<SimDevice> {
    return (await this.#request<{ device: SimDevice }>('POST', `/api/simulators/${encodeURIComponent(device)}/faults`, { fault })).device;
  }

  async clearFault(device: string, fault: string): Promise<SimDevice> {
    const path = `/api/simulators/${encodeURIComponent(device)}/faults/${encodeURIComponent(fault)}`;
    return (await this.#request<{ device: SimDevice }>('DELETE', path)).device;
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    } catch (cause) {
      throw ApiError.network(cause);
    }
    if (!response.ok) {
      const error = await ApiError.fromResponse(response);
      if (response.status === 401) this.#onUnauthorized();
      throw error;
    }
    return (await response.json()) as T;
  }
}
