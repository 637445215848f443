/** Accounts: creating them (the CLI, the demo seed) and the failed-login lockout. */
import { ROLES, isRole, type Role } from '@vigil/model';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.ts';
import type { UserStore } from './store.ts';

/** Same rule as a roster person's username in the site file, so the two can match. */
export const USERNAME_PATTERN = '^[a-z][a-z0-9_.-]*$';
const usernameRegex = new RegExp(USERNAME_PATTERN);

export const DEMO_PASSWORD = 'vigil-demo';
/** One account per role (username = role), plus a second technician to show "only your own tickets". */
export const DEMO_USERS: readonly { username: string; role: Role }[] = [...ROLES.map((role) => ({ username: role, role })), { username: 'technician2', role: 'technician' }];

export class UserInputError extends Error {
  constructor(
    readonly code: 'VIGIL_ERR_USER_FIELD' | 'VIGIL_ERR_USER_EXISTS',
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'UserInputError';
  }
}

export interface NewUser {
  username: string;
  name?: string;
  role: Role;
  password: string;
}

export async function createUser(store: UserStore, user: NewUser, demo = false): Promise<void> {
  if (typeof user.username !== 'string' || user.username.length > 64 || !usernameRegex.test(user.username))
    throw new UserInputError('VIGIL_ERR_USER_FIELD', 'username', `username '${String(user.username)}' must be lower-case letters, digits, '.', '-' or '_', starting with a letter, at most 64 characters`);
  if (!isRole(user.role)) throw new UserInputError('VIGIL_ERR_USER_FIELD', 'role', `role '${String(user.role)}' is not one of ${ROLES.join(', ')}`);
  if (typeof user.password !== 'string' || user.password.length < MIN_PASSWORD_LENGTH || user.password.length > MAX_PASSWORD_LENGTH)
    throw new UserInputError('VIGIL_ERR_USER_FIELD', 'password', `a password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
  const name = user.name?.trim() || user.username;
  if (name.length > 200) throw new UserInputError('VIGIL_ERR_USER_FIELD', 'name', 'a name has at most 200 characters');
  if (store.user(user.username)) throw new UserInputError('VIGIL_ERR_USER_EXISTS', 'username', `user '${user.username}' already exists`);
  const passwordHash = await hashPassword(user.password);
  if (!store.insertUser({ username: user.username, name, role: user.role, passwordHash, demo }))
    throw new UserInputError('VIGIL_ERR_USER_EXISTS', 'username', `user '${user.username}' already exists`);
}

/** Seeds the demo accounts that are missing; returns the usernames it created. */
export async function seedDemoUsers(store: UserStore): Promise<string[]> {
  const created: string[] = [];
  for (const { username, role } of DEMO_USERS) {
    if (store.user(username)) continue;
    const name = username.charAt(0).toUpperCase() + username.slice(1);
    await createUser(store, { username, name: `Demo ${name}`, role, password: DEMO_PASSWORD }, true);
    created.push(username);
  }
  return created;
}

/**
 * A short per-username lockout: 5 failures within 5 minutes lock the name for 1 minute.
 * In memory on purpose: a restart forgets it, which is acceptable for a slow-down measure.
 */
export class LoginLockout {
  private readonly failures = new Map<string, { times: number[]; lockedUntil: number }>();

  constructor(
    private readonly maxFailures = 5,
    private readonly windowMs = 5 * 60_000, // 5 minutes
    private readonly lockMs = 60_000, // 1 minute
    private readonly maxTracked = 10_000,
  ) {}

  /** Ms until the name may try again; 0 when it may try now. */
  lockedFor(username: string, now = Date.now()): number {
    const entry = this.failures.get(username);
    return entry && entry.lockedUntil > now ? entry.lockedUntil - now : 0;
  }

  fail(username: string, now = Date.now()): void {
    const entry = this.failures.get(username) ?? { times: [], lockedUntil: 0 };
    entry.times = entry.times.filter((t) => t > now - this.windowMs);
    entry.times.push(now);
    if (entry.times.length >= this.maxFailures) {
      entry.lockedUntil = now + this.lockMs;
      entry.times = [];
    }
    this.failures.delete(username); // re-insert: the map's order is the age order for pruning
    this.failures.set(username, entry);
    // Guessing many names must not grow memory without bound: forget the oldest.
    while (this.failures.size > this.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(username: string): void {
    this.failures.delete(username);
  }
}
