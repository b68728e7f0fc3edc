import { sid } from './device';

/**
 * What a real FLM02's tmpod publishes (docs/protocols/flm-mqtt.md#sensor-table): the whole uci,
 * numbers as numbers.
 */
export function flm02Config(): Record<string, unknown> {
  return {
    main: { hw_major: 2, hw_minor: 2, sw_major: 1, sw_minor: 0, max_sensors: 6, max_analog_sensors: 3, phase: 1, led_mode: 255, reset_counters: 0 },
    daemon: { logmask: 'info', enable_wan_branch: 1, enable_lan_branch: 1, wan_base_url: 'https://api.flukso.net/' },
    mqtt: { bridge_address: 'api.flukso.net', bridge_port: 8883 },
    fsync: { exit_status: 0, exit_string: 'successful', time: 1459065165 },
    '1': { id: sid(1), type: 'electricity', function: 'main', class: 'analog', port: [1], voltage: 230, current: 50, enable: 1, data_type: 'counter', rid: 0 },
    '2': { id: sid(2), type: 'electricity', function: 'solar', class: 'pulse', port: [4], constant: 1, enable: 1, data_type: 'counter', rid: 0 },
    '3': { id: sid(3), type: 'gas', function: 'gas', class: 'pulse', port: [5], constant: 10, enable: 1, data_type: 'counter', rid: 0 },
    '4': { id: '0123456789abcdef0123456789abcde4', type: 'water', class: 'pulse', port: [6], constant: 1, enable: 0 },
    '6': { id: 1.2345678901234568e31, type: 'electricity', function: 'lost', class: 'uart', port: ['ttyS0'], enable: 0 },
    '7': { id: sid(7), type: 'electricity', function: 123, class: 'cosem', enable: 1, protocol: 'dlms', obis: ['1.8.1', '1.8.2'], derive: 0, data_type: 'counter', rid: 0 },
    '9': { id: sid(9), type: 'electricity', function: 'phase1', class: 'analog', subtype: 'pplus', enable: 1, data_type: 'gauge', rid: 0 },
  };
}
