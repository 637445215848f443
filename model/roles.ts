/** Who may do what. One table, read by the API (enforcement) and the dashboard (what to show). */
export const ROLES = ['operator', 'technician', 'security', 'engineer', 'manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  | 'assets:read'
  | 'points:read'
  | 'alarms:read'
  | 'alarms:ack'
  | 'alarms:comment'
  | 'alarms:shelve'
  | 'alarms:reset'
  | 'assets:maintain'
  | 'tickets:read'
  | 'tickets:work'
  | 'simulators:read'
  | 'simulators:control'
  | 'users:manage';

const everyone: readonly Role[] = ROLES;

const grants: Record<Permission, readonly Role[]> = {
  'assets:read': everyone,
  'points:read': everyone,
  'alarms:read': everyone,
  'alarms:ack': ['operator', 'security', 'engineer', 'admin'],
  'alarms:comment': ['operator', 'security', 'engineer', 'admin'],
  /** Shelving and resetting a latched (fire) alarm are control-room decisions (ISA-18.2 §11.5). */
  'alarms:shelve': ['operator', 'engineer', 'admin'],
  'alarms:reset': ['operator', 'engineer', 'admin'],
  /** Maintenance mode and out of service change what operators see: engineering, under MOC. */
  'assets:maintain': ['engineer', 'admin'],
  'tickets:read': everyone,
  'tickets:work': ['technician', 'security', 'admin'],
  'simulators:read': ['engineer', 'admin'],
  'simulators:control': ['engineer', 'admin'],
  'users:manage': ['admin'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function can(role: Role, permission: Permission): boolean {
  return grants[permission].includes(role);
}
