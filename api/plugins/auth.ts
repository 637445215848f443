/** Login and "who am I". */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { type ApiContext, requireUser, userOf } from '../context.ts';
import { ApiError } from '../errors.ts';
import { decoyHash, MAX_PASSWORD_LENGTH, verifyPassword } from '../passwords.ts';
import { errorResponses, UserResponse } from '../schemas.ts';
import { issueToken } from '../tokens.ts';

const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
});

export const authPlugin: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post<{ Body: Static<typeof LoginBody> }>(
    '/auth/login',
    {
      schema: {
        body: LoginBody,
        response: { 200: Type.Object({ token: Type.String(), expiresAt: Type.Integer(), user: UserResponse }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const fail = (reason: string) => ctx.users.audit({ username, action: 'login', target: username, ok: false, details: { reason } });

      const wait = ctx.lockout.lockedFor(username);
      if (wait > 0) {
        fail('locked-out');
        reply.header('retry-after', Math.ceil(wait / 1000));
        throw new ApiError('VIGIL_ERR_LOCKED_OUT', `too many failed logins for '${username}': try again in ${Math.ceil(wait / 1000)} s`);
      }
      const user = ctx.users.user(username);
      const usable = user && !(user.demo && !ctx.demoUsers);
      const hash = (usable && ctx.users.passwordHash(username)) || (await decoyHash());
      // Verify even for an unknown name, so the answer time does not tell which names exist.
      const ok = (await verifyPassword(password, hash)) && usable;
      if (!ok || !user) {
        ctx.lockout.fail(username);
        fail(user ? (usable ? 'bad-password' : 'demo-user-disabled') : 'unknown-user');
        throw new ApiError('VIGIL_ERR_BAD_CREDENTIALS', 'unknown user or wrong password');
      }
      ctx.lockout.succeed(username);
      ctx.users.audit({ username, action: 'login', target: username, ok: true });
      const { token, payload } = issueToken(ctx.secret, user.username, user.role);
      return { token, expiresAt: payload.exp, user: { username: user.username, name: user.name, role: user.role } };
    },
  );

  app.get(
    '/me',
    { onRequest: requireUser(ctx), schema: { response: { 200: UserResponse, ...errorResponses } } },
    async (request) => userOf(request),
  );
};
