import type { SimDevice } from '../../model.ts';
import { useI18n } from '../../i18n/useI18n.ts';

export interface FaultResult {
  ok: boolean;
  text: string;
}

interface SimDeviceCardProps {
  device: SimDevice;
  canControl: boolean;
  /** The fault whose request is in flight, if any. */
  busyFault: string | null;
  result: FaultResult | undefined;
  onInject: (device: string, fault: string) => void;
  onClear: (device: string, fault: string) => void;
}

export function SimDeviceCard({ device, canControl, busyFault, result, onInject, onClear }: SimDeviceCardProps) {
  const { t } = useI18n();
  return (
    <article className="sim-device" data-device={device.device} aria-labelledby={`sim-${device.device}`}>
      <header>
        <h3 id={`sim-${device.device}`} className="mono">
          {device.device}
        </h3>
        <span className="muted">
          {device.model} · {t('sim.endpoint', { protocol: device.protocol, host: device.host, port: device.port })}
        </span>
      </header>
      <ul className="faults">
        {device.faults.map((fault) => {
          const params = { fault: fault.name, device: device.device };
          return (
            <li key={fault.name} className={fault.active ? 'fault active' : 'fault'} data-fault={fault.name} data-active={fault.active}>
              <span className={fault.active ? 'fault-state on' : 'fault-state'}>{fault.active ? t('sim.faultActive') : t('sim.faultInactive')}</span>
              <span className="fault-name mono">{fault.name}</span>
              <span className="fault-description">{fault.description}</span>
              {canControl &&
                (fault.active ? (
                  <button type="button" disabled={busyFault !== null} aria-label={t('sim.clearFault', params)} onClick={() => onClear(device.device, fault.name)}>
                    {t('sim.clear')}
                  </button>
                ) : (
                  <button
                    type="button"
                    className="danger"
                    disabled={busyFault !== null}
                    aria-label={t('sim.injectFault', params)}
                    onClick={() => onInject(device.device, fault.name)}
                  >
                    {t('sim.inject')}
                  </button>
                ))}
            </li>
          );
        })}
      </ul>
      {/* Polite, not role="status": the page's one status is the connection indicator. */}
      <p className={result ? (result.ok ? 'sim-result ok' : 'sim-result failed') : 'sim-result'} aria-live="polite">
        {result?.text}
      </p>
    </article>
  );
}
