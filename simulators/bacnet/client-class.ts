/**
 * The BACnetClient class of @bacnet-js/client, a CommonJS package with `exports.default`: Node's ESM
 * loader hands over the whole `exports` object as the default import, vitest's loader the class
 * itself. Take whichever arrived.
 */
import bacnet from '@bacnet-js/client';

type ClientClass = typeof bacnet.default;
const loaded = bacnet as unknown as ClientClass | { default: ClientClass };

export const BACnetClient: ClientClass = 'default' in loaded && typeof loaded.default === 'function' ? loaded.default : (loaded as ClientClass);
export type BACnetClient = InstanceType<ClientClass>;
