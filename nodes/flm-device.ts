import { z } from 'zod';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { loadDevice } from '../core/config/device';
import type { Device, Sensor } from '../core/config/schema';
import { DeviceSensors } from '../core/config/sensor-set';
import { chosenSource } from './lib/source-switch';
import { textSetting, setting, parseSettings } from './lib/settings';
import { CLOCK_VALID_AFTER } from '../core/config/clock-valid';
import { errorText } from './lib/close';

type DeviceDef = NodeDef & Record<string, unknown>;

const schema = z.object({
  deviceId: setting.text(),
  phase: setting.number(1, 'phase', (n) => n === 1 || n === 3),
  validAfter: setting.number(CLOCK_VALID_AFTER, 'clock valid after', (n) => Number.isInteger(n) && n >= 0),
  sensors: z
    .unknown()
    .optional()
    .transform((v) => v ?? []),
});

export interface DeviceContext {
  device: Device;
  dataDir: string;
  /** the table plus the sensors live sources derived; consumers follow its `change` event */
  sensors: DeviceSensors;
}

export interface FlmDeviceNode extends Node<{ deviceKey?: string }> {
  /** the validated device; rejects with a clear message when the config is wrong */
  ready: Promise<DeviceContext>;
  /** one flm-sensor owns a device's counters; a second one would overwrite them */
  claimCounters(ownerId: string): boolean;
  releaseCounters(ownerId: string): void;
}

export default function (RED: NodeAPI): void {
  function FlmDevice(this: FlmDeviceNode, def: DeviceDef) {
    RED.nodes.createNode(this, def);
    let owner: string | undefined;
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const dataDir = textSetting(def.dataDir, join(userDir, 'flukso'));

    this.ready = (async () => {
      const { deviceId, ...s } = parseSettings(schema, def);
      const device = await loadDevice({ ...s, id: deviceId, key: textSetting(this.credentials?.deviceKey), dataDir });
      // the source the flow runs (`${FLM_SOURCE}` in the default flow); blank: every source
      const source = chosenSource(def.source, 'source');
      const sensors = await DeviceSensors.load(device, dataDir, {
        ...(source ? { live: [source === 'p1' ? 'p1' : 'board'] } : {}),
        onWarning: (text) => this.warn(text),
      });
      // Consumers each follow the set; a flow with many of them is no leak.
      sensors.setMaxListeners(0);
      return { device, dataDir, sensors };
    })();
    // Users report the error on their own status; this keeps the rejection from going unhandled.
    this.ready.catch((err: unknown) => this.error(errorText(err)));

    this.claimCounters = (ownerId) => {
      if (owner && owner !== ownerId) return false;
      owner = ownerId;
      return true;
    };
    this.releaseCounters = (ownerId) => {
      if (owner === ownerId) owner = undefined;
    };
  }

  RED.nodes.registerType('flm-device', FlmDevice as never, { credentials: { deviceKey: { type: 'password' } } });

  // The ids the deployed device gives its sensors (derived ones too), shown by name in its dialog.
  RED.httpAdmin.get('/flm-device/:id/sensors', RED.auth.needsPermission('flm-device.read'), (req, res) => {
    const n = RED.nodes.getNode(String(req.params.id)) as FlmDeviceNode | null;
    if (!n?.ready) return void res.status(404).json({ error: 'not deployed' });
    n.ready.then(
      (ctx) =>
        res.json({
          deviceId: ctx.device.id,
          table: ctx.device.sensors.map(sensorId),
          // sensors a live source derived (a P1 meter's), which have no row in the table
          derived: ctx.sensors.all().slice(ctx.device.sensors.length).map(sensorId),
        }),
      (err: unknown) => res.status(409).json({ error: errorText(err) }),
    );
  });
}

/** What the dialog needs of a sensor: its section number, name and id. */
const sensorId = (s: Sensor): { n: number; name: string; id: string } => ({ n: s.n, name: s.name, id: s.id });
