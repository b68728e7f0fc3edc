import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** This package's name and version, as integrations report it (Home Assistant's device info). */
export const packageInfo: { name: string; version: string } = (() => {
  try {
    const p = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    return { name: p.name, version: p.version };
  } catch {
    return { name: 'node-red-contrib-fluksometer', version: '' };
  }
})();
