/** Why a fault request was refused; the codes are those of the sim reply (model/messages.ts). */
export type SimErrorCode = 'not-found' | 'invalid' | 'conflict';

export class SimError extends Error {
  constructor(
    readonly code: SimErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}
