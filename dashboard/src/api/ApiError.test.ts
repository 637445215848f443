import { describe, expect, it } from 'vitest';
import { ApiError } from './ApiError.ts';

describe('ApiError.fromResponse', () => {
  it("reads the API's error body", async () => {
    const body = { error: { code: 'VIGIL_ERR_BAD_FIELD', message: 'to must be a status', field: 'to' } };
    const error = await ApiError.fromResponse(new Response(JSON.stringify(body), { status: 400 }));
    expect(error).toMatchObject({ status: 400, code: 'VIGIL_ERR_BAD_FIELD', message: 'to must be a status', field: 'to' });
  });

  it('survives a body that is not JSON (a proxy error page)', async () => {
    const error = await ApiError.fromResponse(new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(error).toMatchObject({ status: 502, code: 'http-502', message: 'Bad Gateway' });
  });

  it("keeps a 429's Retry-After in seconds", async () => {
    const error = await ApiError.fromResponse(new Response('{}', { status: 429, headers: { 'retry-after': '30' } }));
    expect(error.retryAfter).toBe(30);
  });
});
