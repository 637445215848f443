/**
 * The API's error registry (DESIGN.md, "HTTP errors"). Codes are stable and never reused: a client
 * may switch on them. Every error leaves the API as `{ "error": { "code", "message", "field"? } }`.
 */
export const API_ERRORS = {
  VIGIL_ERR_BAD_REQUEST: { status: 400, description: 'The request is malformed: a field is missing, of the wrong type or out of range (`field` names it).' },
  VIGIL_ERR_BAD_JSON: { status: 400, description: 'The body is not a JSON document (`field` is `body`).' },
  VIGIL_ERR_UNAUTHORIZED: { status: 401, description: 'No token, or a bad or expired one: log in again.' },
  VIGIL_ERR_BAD_CREDENTIALS: { status: 401, description: 'Unknown user or wrong password.' },
  VIGIL_ERR_FORBIDDEN: { status: 403, description: 'The role of the user lacks the permission for this action.' },
  VIGIL_ERR_NOT_FOUND: { status: 404, description: 'No such route, point, alarm, ticket, simulated device or fault.' },
  VIGIL_ERR_CONFLICT: { status: 409, description: 'The action does not fit the current state (e.g. ack of an alarm that is already acknowledged).' },
  VIGIL_ERR_PAYLOAD_TOO_LARGE: { status: 413, description: 'The body is larger than the API accepts.' },
  VIGIL_ERR_LOCKED_OUT: { status: 429, description: 'Too many failed logins for this username: wait and try again.' },
  VIGIL_ERR_INTERNAL: { status: 500, description: 'An unexpected error inside the API; the log has the details.' },
  VIGIL_ERR_BAD_COMMAND_RESULT: { status: 502, description: 'The command was answered, but not with the record the API expected.' },
  VIGIL_ERR_BUS_UNAVAILABLE: { status: 503, description: 'The API is not connected to the MQTT bus, so the command was not sent.' },
  VIGIL_ERR_COMMAND_TIMEOUT: { status: 504, description: 'The command was sent but not answered in time; it may or may not have been applied.' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error a route throws on purpose; the error handler turns it into the JSON body. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code].status;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: ApiErrorCode, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}
