import { can, type Permission } from '../../model.ts';
import { useSession } from './useSession.ts';

/**
 * The one place the dashboard asks what the signed-in role may do, from the same table the API
 * enforces (model/roles.ts). Hiding a button is convenience; the API still decides.
 */
export function useCan(permission: Permission): boolean {
  return can(useSession().user.role, permission);
}
