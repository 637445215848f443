import { useCallback, useState } from 'react';
import { Panel } from '../../core/Panel.tsx';
import { describeError } from '../../core/describeError.ts';
import { useI18n } from '../../i18n/useI18n.ts';
import { useCan } from '../auth/useCan.ts';
import { useSession } from '../auth/useSession.ts';
import { SimDeviceCard, type FaultResult } from './SimDeviceCard.tsx';
import { useSimulators } from './useSimulators.ts';

/** Fault injection for engineers: the fastest way to see an alarm and a ticket go through the system. */
export function SimulatorsPanel() {
  const { t } = useI18n();
  const { api } = useSession();
  const canControl = useCan('simulators:control');
  const { devices, error, reload, replace } = useSimulators();
  const [busy, setBusy] = useState<Record<string, string>>({});
  const [results, setResults] = useState<Record<string, FaultResult>>({});

  const run = useCallback(
    (device: string, fault: string, inject: boolean) => {
      setBusy((current) => ({ ...current, [device]: fault }));
      const request = inject ? api.injectFault(device, fault) : api.clearFault(device, fault);
      request
        .then(
          (updated) => {
            replace(updated);
            setResults((current) => ({ ...current, [device]: { ok: true, text: t(inject ? 'sim.injected' : 'sim.cleared', { fault, device }) } }));
          },
          (failure: unknown) => {
            const { title, detail } = describeError(failure, t);
            setResults((current) => ({ ...current, [device]: { ok: false, text: t('sim.failed', { fault, device, message: `${title}: ${detail}` }) } }));
          },
        )
        .finally(() =>
          setBusy((current) => {
            const { [device]: _done, ...rest } = current;
            return rest;
          }),
        );
    },
    [api, replace, t],
  );
  const onInject = useCallback((device: string, fault: string) => run(device, fault, true), [run]);
  const onClear = useCallback((device: string, fault: string) => run(device, fault, false), [run]);

  return (
    <Panel
      id="simulators"
      title={t('sim.title')}
      error={error}
      onRetry={reload}
      actions={
        <button type="button" onClick={reload}>
          {t('sim.refresh')}
        </button>
      }
    >
      {devices === null && !error && <p className="muted">{t('common.loading')}</p>}
      {devices?.length === 0 && <p className="muted">{t('sim.empty')}</p>}
      <div className="sim-devices">
        {devices?.map((device) => (
          <SimDeviceCard
            key={device.device}
            device={device}
            canControl={canControl}
            busyFault={busy[device.device] ?? null}
            result={results[device.device]}
            onInject={onInject}
            onClear={onClear}
          />
        ))}
      </div>
    </Panel>
  );
}
