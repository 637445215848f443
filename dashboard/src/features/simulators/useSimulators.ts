import { useCallback, useEffect, useState } from 'react';
import type { SimDevice } from '../../model.ts';
import { useSession } from '../auth/useSession.ts';

/** The simulated devices and their faults; no socket events exist for them, so reload on demand. */
export function useSimulators() {
  const { api } = useSession();
  const [devices, setDevices] = useState<SimDevice[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const reload = useCallback(() => {
    setError(null);
    api.simulators().then(setDevices, setError);
  }, [api]);
  useEffect(reload, [reload]);

  const replace = useCallback((device: SimDevice) => {
    setDevices((current) => current?.map((d) => (d.device === device.device ? device : d)) ?? current);
  }, []);

  return { devices, error, reload, replace };
}
