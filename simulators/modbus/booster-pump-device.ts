/**
 * The booster pump as a simulated device: one drive of a booster set behind a spec-exact Modbus TCP
 * server. The drives of one set (the same `params.set`, default `booster`) share a BoosterSet.
 */
import type { ModbusDevice } from '@vigil/model';
import type { SimulatorModel } from '../device.ts';
import { BoosterSet, BOOSTER_PUMP_FAULTS, BOOSTER_PUMP_MAP, BOOSTER_PUMP_MODEL } from '../booster-pump.ts';
import { FaultBook } from './faults.ts';
import { serveModbus } from './serve.ts';
import { joinShared } from './shared.ts';

export const boosterPumpModel: SimulatorModel<ModbusDevice> = {
  name: BOOSTER_PUMP_MODEL,
  protocol: 'modbus-tcp',
  description: 'One variable-speed pump drive of a domestic-water booster set; the drives with the same `params.set` form one set (Grundfos Hydro MPC / CUE-like register map)',
  reference: () =>
    [
      'Imitates a Grundfos Hydro MPC booster set with a CUE drive per pump (their Modbus profile: per-pump on/off/fault, run hours, speed 0.01 %, current 0.1 A; addresses are ours). Params: `set` (name of the set its drives share; default `booster`).',
      '',
      BOOSTER_PUMP_MAP.markdown(),
      '',
      'Behaviour (values plausible, not measured; DOMAIN.md "Pumps"):',
      '',
      '- Demand follows the site\'s local time: about 0.5 m³/h at night, 16 m³/h in the 07:30 peak, 17 m³/h at 19:30, 7–10 m³/h in the day; a slow random walk (±40 %) and ±4 % flicker on top.',
      '- Cascade on pressure (Grundfos Hydro MPC): the set holds the discharge header at the set point (0.80 MPa) ± 0.01; when the running pumps cannot (full speed) for 10 s and 10 s have passed since the last start or stop, the next pump starts; when one fewer could hold it below 92 % speed for 10 s, the last started stops. At most 2 of 3 run (one standby). Below 1 m³/h the last pump boosts to set point + 0.03 MPa after running 30 s, stops, and the diaphragm tank carries the header until it falls 0.05 MPa below the set point. Starts go to the available pump with the fewest run hours; a running pump with 6 h more than a resting one hands over (changeover by run hours). A stopped (coil 0 = 0) or tripped pump leaves the rotation.',
      '- Speed follows the pump curve (affinity laws: 1.40 MPa shut-off head, 0.77 MPa at 12 m³/h at full speed); current ≈ 22 A × (0.25 + 0.75 × speed³); flow is the demand shared by the running pumps; vibration ≈ 1 mm/s (zone B) running, 0.05 stopped; bearing temperature 28 °C + 17 K × speed² (time constant 10 min).',
      '',
      new FaultBook(BOOSTER_PUMP_MODEL, BOOSTER_PUMP_FAULTS).markdown(),
    ].join('\n'),
  async start(ctx) {
    const { device, seed, clock, site } = ctx;
    const name = String(device.simulator?.params?.set ?? 'booster');
    const shared = joinShared(clock, BOOSTER_PUMP_MODEL, name, () => new BoosterSet({ seed, timeZone: site.site.timezone, start: clock.now() }));
    const pump = shared.value.addPump(seed);
    pump.onClose = shared.leave;
    return serveModbus(BOOSTER_PUMP_MODEL, ctx, pump);
  },
};
