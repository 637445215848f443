import { ApiError } from './ApiError.ts';
import type { LoginResponse } from './types.ts';

/** `POST /api/auth/login`: the only call made without a token. Throws ApiError (401 wrong credentials, 429 too many tries). */
export async function login(username: string, password: string): Promise<LoginResponse> {
  let response: Response;
  try {
    response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch (cause) {
    throw ApiError.network(cause);
  }
  if (!response.ok) throw await ApiError.fromResponse(response);
  return (await response.json()) as LoginResponse;
}
