import type { ApiErrorBody } from './types.ts';

/** An error answered by the API (`{ error: { code, message, field? } }`), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  /** Seconds from a 429's Retry-After header, when the server sent one. */
  readonly retryAfter: number | undefined;

  constructor(status: number, code: string, message: string, field?: string, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  /** Builds the error from a failed response; a body that is not the API's error shape still gives a message. */
  static async fromResponse(response: Response): Promise<ApiError> {
    const retryHeader = Number(response.headers.get('retry-after'));
    const retryAfter = Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : undefined;
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      // A proxy's HTML error page, or nothing: fall back to the status line below.
    }
    const error = (body as Partial<ApiErrorBody> | null)?.error;
    if (error && typeof error.message === 'string') {
      return new ApiError(response.status, String(error.code ?? response.status), error.message, error.field, retryAfter);
    }
    return new ApiError(response.status, `http-${response.status}`, response.statusText || `HTTP ${response.status}`, undefined, retryAfter);
  }

  static network(cause: unknown): ApiError {
    return new ApiError(0, 'network', cause instanceof Error ? cause.message : String(cause));
  }
}
