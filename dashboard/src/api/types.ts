/** Response bodies of the Vigil HTTP API that the dashboard reads (DESIGN.md, "Contracts"). */
import type { Alarm, Role, Sample, SimDevice, Ticket } from '../model.ts';

export interface User {
  username: string;
  name: string;
  role: Role;
}

export interface LoginResponse {
  token: string;
  user: User;
}

export interface SiteInfo {
  id: string;
  name: string;
  /** IANA time zone: every time on the console is shown in it. */
  timezone: string;
}

export interface AssetPoint {
  id: string;
  name?: string;
  unit?: string;
  tags: string[];
}

export interface Asset {
  id: string;
  name: string;
  class: string;
  building: string;
  floor: string;
  department: string;
  criticality: string | number;
  points: AssetPoint[];
}

export interface AssetsResponse {
  site: SiteInfo;
  assets: Asset[];
}

/** `GET /api/points/:id/latest` and each item of the 'points' socket event. */
export type PointValue = Sample;

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

export type { Alarm, SimDevice, Ticket };
