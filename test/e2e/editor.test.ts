/**
 * End to end, as a user meets the package: `npm pack` of the checkout, `npm install <tgz>` into a
 * fresh Node-RED user dir, Node-RED (the devDependency, 4.1.x) embedded on 127.0.0.1 and locked
 * as `npm start` locks it, the default flow `flows/flm.json` deployed through the admin API,
 * readings checked on the embedded MQTT broker with mqtt.js, then the editor driven in Debian's
 * Chromium (playwright-core, never a downloaded browser): login with the generated password,
 * palette, edit dialogs, config node editor, help, status; a screenshot goes to
 * test-output/e2e-editor.png.
 *
 * Needs a built `dist/` (npm test runs `npm run build` first), /usr/bin/chromium (npm test's
 * scripts/system-deps.mjs installs it) and the npm registry for the package's runtime
 * dependencies. Node-RED runs once per process, so this is the only test file that starts it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../support/paths';
import { freePort } from '../support/e2e/process';
import { packRepo, installIntoUserDir, readPackageJson } from '../support/e2e/package-install';
import { describeNodeTypes, type NodeTypeInfo } from '../support/e2e/node-html';
import { startEmbeddedNodeRed, type EmbeddedNodeRed } from '../support/e2e/node-red-embedded';
import { deployFlows, getJson, httpGet, type NodeSetInfo } from '../support/e2e/admin-api';
import { ADMIN_PASSWORD_FILE } from '../../scripts/start-auth';
import { deriveSensorId } from '../../core/config/identity';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PALETTE_CATEGORY = 'flukso';
const VIEWPORT = { width: 1280, height: 800 };
const GAUGE_PAYLOAD = /^\[\d+,-?\d+(\.\d+)?,"W"\]$/;
const GAUGE_TOPIC = /^\/sensor\/[0-9a-f]{32}\/gauge$/;

interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  [prop: string]: unknown;
}

/** The part of the editor's global `RED` the page-side callbacks use. */
interface EditorGlobal {
  RED: {
    nodes: {
      node(
        id: string,
      ): { type: string; _def: { defaults: Record<string, { type?: string }> } } & Record<string, unknown>;
    };
    sidebar: { help: { show(type: string, bringToFront?: boolean): void } };
    view: { select(sel: string | { nodes: unknown[] }): void };
    workspaces: { show(id: string): void; active(): string };
  };
}

const pkg = readPackageJson(repoRoot);
const moduleName = pkg.name;
const flow = JSON.parse(readFileSync(join(repoRoot, 'flows', 'flm.json'), 'utf8')) as FlowNode[];
const tab = flow.find((n) => n.type === 'tab');

let work = '';
let userDir = '';
let dataDir = '';
let installedDir = '';
let types: NodeTypeInfo[] = [];
let nr: EmbeddedNodeRed | undefined;
let browser: Browser | undefined;
let mqttPort = 0;
let deployed = false;
const savedEnv: Record<string, string | undefined> = {};

function setEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in savedEnv)) savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
}

/** Poll `probe` until it returns a truthy value or `timeoutMs` passes. */
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | null | false>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** test-output/ at the repo root (git-ignored): screenshots for review. */
function outputFile(name: string): string {
  const dir = join(repoRoot, 'test-output');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

function ourTypes(): Set<string> {
  return new Set(types.map((t) => t.type));
}
/** A node type's palette label in `lang`, from the catalog Node-RED serves (nodes/locales). */
function paletteLabel(lang: string, x: NodeTypeInfo): string {
  const catalog = JSON.parse(readFileSync(join(repoRoot, 'nodes', 'locales', lang, `${x.set}.json`), 'utf8')) as Record<
    string,
    { paletteLabel?: string }
  >;
  const label = catalog[x.type]?.paletteLabel;
  assert.ok(label, `nodes/locales/${lang}/${x.set}.json has no ${x.type}.paletteLabel`);
  return label;
}

/**
 * Every visible text field and select of the dialog shows its whole content: an input its value
 * (or placeholder), a select its chosen option (text measured in the select's own font, plus its
 * padding and arrow), and none reaches past the right edge of the dialog, where the tray cuts it.
 */
async function assertFieldsFit(page: Page, formSelector: string, what: string): Promise<void> {
  const clipped = await page.evaluate((sel) => {
    const doc = (globalThis as any).document;
    const form = doc.querySelector(sel);
    if (!form) return [`no ${sel}`];
    const formRight = form.getBoundingClientRect().right;
    const ctx = doc.createElement('canvas').getContext('2d');
    const out: string[] = [];
    for (const el of form.querySelectorAll('input, select, textarea')) {
      if (!el.offsetParent || ['checkbox', 'radio', 'hidden', 'button', 'file'].includes(el.type)) continue;
      const name = el.id || `.${String(el.className).split(' ')[0]}`;
      const cs = (globalThis as any).getComputedStyle(el);
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight);
      const box = el.getBoundingClientRect();
      if (box.right > formRight + 1)
        out.push(`${name} reaches ${Math.round(box.right - formRight)} px past the dialog`);
      if (el.tagName === 'SELECT') {
        const text = el.options[el.selectedIndex]?.text ?? '';
        const need = ctx.measureText(text).width + pad + 16;
        if (need > el.clientWidth + 1)
          out.push(`${name}: "${text}" needs ${Math.ceil(need)} px, has ${el.clientWidth}`);
      } else if (el.tagName === 'INPUT') {
        if (el.scrollWidth > el.clientWidth + 1) out.push(`${name}: value "${el.value}" is cut off`);
        if (!el.value && el.placeholder) {
          const need = ctx.measureText(el.placeholder).width + pad;
          if (need > el.clientWidth + 1) out.push(`${name}: placeholder "${el.placeholder}" is cut off`);
        }
      }
    }
    return out;
  }, formSelector);
  assert.deepEqual(
    clipped,
    [],
    `${what}: fields narrower than their content at ${VIEWPORT.width} x ${VIEWPORT.height}`,
  );
}

/**
 * The boxes of the nodes on the tab in view, and of the status lines under them, as drawn by the
 * editor: none may overlap another (a node's own status line sits under it, so it is left out).
 */
async function overlappingBoxes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const doc = (globalThis as any).document;
    type Box = { id: string; what: string; l: number; t: number; r: number; b: number };
    const boxes: Box[] = [];
    for (const g of doc.querySelectorAll('#red-ui-workspace-chart g.red-ui-flow-node-group')) {
      const rect = g.querySelector('rect.red-ui-flow-node');
      if (!rect) continue;
      const n = rect.getBoundingClientRect();
      boxes.push({ id: g.id, what: 'node', l: n.left, t: n.top, r: n.right, b: n.bottom });
      const label = g.querySelector('.red-ui-flow-node-status-group');
      const st = label?.getBoundingClientRect();
      if (st && st.width > 0 && label.style.display !== 'none')
        boxes.push({ id: g.id, what: 'status', l: st.left, t: st.top, r: st.right, b: st.bottom });
    }
    const out: string[] = [];
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        if (a.id === b.id) continue;
        if (a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b)
          out.push(`${a.what} of ${a.id} overlaps ${b.what} of ${b.id}`);
      }
    return out;
  });
}

function info(type: string): NodeTypeInfo {
  const t = types.find((x) => x.type === type);
  assert.ok(t, `no editor definition found for ${type}`);
  return t;
}

before(
  async () => {
    work = mkdtempSync(join(tmpdir(), 'flm-e2e-'));
    userDir = join(work, 'userdir');
    dataDir = join(work, 'data');
    mkdirSync(dataDir);
    mqttPort = await freePort();
    let wsPort = await freePort();
    while (wsPort === mqttPort) wsPort = await freePort();
    let uiPort = await freePort();
    while (uiPort === mqttPort || uiPort === wsPort) uiPort = await freePort();
    let apiPort = await freePort();
    while ([mqttPort, wsPort, uiPort].includes(apiPort)) apiPort = await freePort();
    // The flow's ${FLM_*} fields are substituted by Node-RED from these when the flow starts.
    setEnv({
      FLM_DATA_DIR: dataDir,
      FLM_BIND: '127.0.0.1',
      FLM_MQTT_PORT: String(mqttPort),
      FLM_WS_PORT: String(wsPort),
      FLM_API_PORT: String(apiPort),
      FLM_SIM_SPEED: '1',
      FLM_DEVICE_ID: '',
    });

    const tgz = await packRepo(repoRoot, join(work, 'pack'));
    await installIntoUserDir(userDir, tgz);
    installedDir = join(userDir, 'node_modules', ...moduleName.split('/'));
    types = describeNodeTypes(installedDir, readPackageJson(installedDir));
    nr = await startEmbeddedNodeRed({ userDir, port: uiPort, dataDir });
  },
  { timeout: 150_000 },
);

after(
  async () => {
    await browser?.close().catch(() => undefined);
    await nr?.stop().catch((err: unknown) => console.error(`stopping Node-RED: ${String(err)}`));
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  },
  { timeout: 45_000 },
);

test('the packed package carries every node file next to its .js', () => {
  const nodes = pkg['node-red']?.nodes ?? {};
  assert.ok(Object.keys(nodes).length > 0, 'package.json has no node-red.nodes map');
  for (const [set, js] of Object.entries(nodes)) {
    assert.ok(existsSync(join(installedDir, js)), `${set}: ${js} missing from the installed package`);
    assert.ok(
      existsSync(join(installedDir, js.replace(/\.c?js$/, '.html'))),
      `${set}: editor .html missing next to ${js}`,
    );
  }
  for (const t of types) {
    if (!t.icon || t.icon.includes('/')) continue; // stock or font-awesome icon
    const js = (pkg['node-red']?.nodes ?? {})[t.set];
    assert.ok(
      existsSync(join(installedDir, js!, '..', 'icons', t.icon)),
      `${t.type}: icon ${t.icon} is not in icons/ next to ${js}`,
    );
  }
  for (const name of ['flm-device', 'flm-simulator', 'flm-sensor', 'flm-broker']) {
    assert.ok(ourTypes().has(name), `node type ${name} is not registered by any .html of the package`);
  }
});

test('GET /nodes lists every node set of the package, enabled and without error', async () => {
  const sets = await getJson<NodeSetInfo[]>(`${nr!.baseUrl}/nodes`, { token: nr!.token });
  const ours = sets.filter((s) => s.module === moduleName);
  for (const set of Object.keys(pkg['node-red']?.nodes ?? {})) {
    const s = ours.find((x) => x.name === set || x.id === `${moduleName}/${set}`);
    assert.ok(s, `node set ${set} not listed by GET /nodes (our sets: ${ours.map((x) => x.id).join(', ') || 'none'})`);
    assert.equal(s.err, undefined, `node set ${set} failed to load: ${s.err}`);
    assert.equal(s.enabled, true, `node set ${set} is not enabled`);
    for (const t of types.filter((x) => x.set === set)) {
      assert.ok(
        s.types.includes(t.type),
        `node set ${set} does not register ${t.type} at runtime (types: ${s.types.join(', ')})`,
      );
    }
  }
});

test('every icon of the package is served at /icons/<module>/<file>', async () => {
  // Node-RED answers 200 with its default icon for an icon it cannot find, so compare the bytes.
  const icons = readdirSync(join(repoRoot, 'icons')).filter((f) => !f.startsWith('.'));
  const declared = types.map((t) => t.icon).filter((i): i is string => !!i && !i.includes('/'));
  for (const icon of new Set([...icons, ...declared])) {
    assert.ok(icons.includes(icon), `icon ${icon} is used by a node but is not in icons/`);
    const r = await httpGet(`${nr!.baseUrl}/icons/${moduleName}/${icon}`, '*/*');
    assert.equal(r.status, 200, `GET /icons/${moduleName}/${icon}: HTTP ${r.status}`);
    assert.equal(
      r.text,
      readFileSync(join(repoRoot, 'icons', icon), 'utf8'),
      `GET /icons/${moduleName}/${icon} does not serve icons/${icon} (Node-RED's default icon?)`,
    );
    if (icon.endsWith('.svg')) assert.match(r.contentType, /svg/, `${icon} served as ${r.contentType}`);
  }
});

test('every examples/*.json is listed under Import > Examples', async (t) => {
  const dir = join(repoRoot, 'examples');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) {
    t.diagnostic('examples/ has no .json files yet: nothing to check');
    return;
  }
  const listing = await getJson<Array<string | { fn?: string }>>(
    `${nr!.baseUrl}/library/examples/flows/${moduleName}/`,
    { token: nr!.token },
  );
  const names = listing.map((e) => (typeof e === 'string' ? e : (e.fn ?? '')));
  const used = new Set<string>();
  for (const f of files) {
    const name = f.replace(/\.json$/, '');
    assert.ok(names.includes(name), `example ${f} is not listed by the editor (listed: ${names.join(', ')})`);
    const nodes = JSON.parse(readFileSync(join(dir, f), 'utf8')) as FlowNode[];
    assert.ok(Array.isArray(nodes), `${f} is not a flow (a JSON array of nodes)`);
    for (const n of nodes) used.add(n.type);
  }
  // Flow Library scorecard N02: every non-config node appears in at least one example.
  const unused = types.filter((x) => !x.isConfig && !used.has(x.type)).map((x) => x.type);
  assert.deepEqual(unused, [], `node types used in no example: ${unused.join(', ')}`);
});

test('deploying flows/flm.json publishes FLM gauges on the embedded broker', { timeout: 40_000 }, async () => {
  assert.ok(tab, 'flows/flm.json has no tab');
  await deployFlows(nr!.baseUrl, flow, { token: nr!.token });
  deployed = true;
  const client = mqtt.connect({
    host: '127.0.0.1',
    port: mqttPort,
    protocolVersion: 4,
    reconnectPeriod: 250,
    connectTimeout: 5_000,
  });
  try {
    const seen: string[] = [];
    const gauge = await new Promise<{ topic: string; payload: string }>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no /sensor/<sid>/gauge message in FLM form within 10 s; saw: ${seen.slice(0, 10).join(' | ') || 'nothing'}`,
            ),
          ),
        10_000,
      );
      client.on('connect', () => client.subscribe('/sensor/#', { qos: 0 }));
      client.on('message', (topic, payload) => {
        const text = payload.toString('utf8');
        seen.push(`${topic} ${text}`);
        if (GAUGE_TOPIC.test(topic) && GAUGE_PAYLOAD.test(text)) {
          clearTimeout(timer);
          resolve({ topic, payload: text });
        }
      });
    });
    assert.match(gauge.topic, GAUGE_TOPIC);
    assert.match(gauge.payload, GAUGE_PAYLOAD);
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
});

test('the editor shows the nodes, their dialogs, help and status', { timeout: 480_000 }, async (t) => {
  assert.ok(deployed, 'the flow was not deployed (see the test above)');
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing (npm test installs the Debian package chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  // 1280 x 800: a common laptop screen, where every dialog must show its fields whole.
  const page: Page = await browser.newPage({ viewport: VIEWPORT });
  page.setDefaultTimeout(10_000);
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`));

  await page.goto(`${nr!.baseUrl}/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
  // The editor is locked as `npm start` locks it: log in with the password generated into the data dir.
  const password = readFileSync(join(dataDir, ADMIN_PASSWORD_FILE), 'utf8').trim();
  await page.locator('#node-dialog-login-username').waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(
    await page.locator(".red-ui-palette-node[data-palette-type='inject']").count(),
    0,
    'the palette shows before the login',
  );
  await page.locator('#node-dialog-login-username').fill(nr!.login.user);
  await page.locator('#node-dialog-login-password').fill(password);
  await page.locator('#node-dialog-login-submit').click();
  await page.locator(".red-ui-palette-node[data-palette-type='inject']").waitFor({ state: 'visible', timeout: 30_000 });
  const tabId = tab!.id;
  await page.evaluate((id) => (globalThis as unknown as EditorGlobal).RED.workspaces.show(id), tabId);

  await t.test(`the "${PALETTE_CATEGORY}" palette category shows every non-config node`, async () => {
    const nonConfig = types.filter((x) => !x.isConfig);
    assert.ok(nonConfig.length > 0);
    for (const x of types) {
      const entry = page.locator(`.red-ui-palette-node[data-palette-type='${x.type}']`);
      if (x.isConfig) {
        assert.equal(await entry.count(), 0, `config node ${x.type} must not be in the palette`);
        continue;
      }
      assert.equal(x.category, PALETTE_CATEGORY, `${x.type} is in category "${x.category}"`);
      const inCategory = page.locator(
        `#red-ui-palette-container-${PALETTE_CATEGORY} .red-ui-palette-node[data-palette-type='${x.type}']`,
      );
      await inCategory.waitFor({ state: 'visible' });
      // The label comes from the node's en-US catalog; the palette breaks a long label over
      // lines (<br>), and must not have to break a word in the middle.
      const want = paletteLabel('en-US', x);
      const lines = (
        await inCategory
          .locator('.red-ui-palette-label')
          .evaluate((e) => (e as unknown as { innerHTML: string }).innerHTML.split(/<br\/?>/))
      ).map((l) =>
        l
          .replace(/&nbsp;/g, ' ')
          .replace(/\s+/g, ' ')
          .trim(),
      );
      assert.equal(lines.join(' '), want, `${x.type} palette label`);
      const words = new Set(want.split(/[\s-]+/));
      for (const line of lines)
        for (const w of line.split(/[\s-]+/).filter(Boolean))
          assert.ok(words.has(w), `${x.type}: the palette broke "${want}" inside a word ("${line}")`);
      if (x.icon && !x.icon.includes('/')) {
        const style = (await inCategory.locator('.red-ui-palette-icon').getAttribute('style')) ?? '';
        assert.ok(style.includes(`icons/${moduleName}/${x.icon}`), `${x.type} palette icon is not ${x.icon}: ${style}`);
      }
    }
  });

  const canvasNodes = flow.filter((n) => n.z === tabId && ourTypes().has(n.type));
  const configNodes = flow.filter((n) => ourTypes().has(n.type) && info(n.type).isConfig);

  /** Every field of the template exists; fields named after a property show its value. */
  async function checkFields(node: FlowNode, prefix: 'node-input-' | 'node-config-input-'): Promise<void> {
    const x = info(node.type);
    assert.ok(x.fieldIds.length > 0, `${node.type} has no ${prefix}* fields in its template`);
    for (const id of x.fieldIds) {
      assert.equal(await page.locator(`#${id}`).count(), 1, `${node.type} edit dialog: #${id} missing`);
    }
    for (const id of x.fieldIds) {
      const prop = id.slice(prefix.length);
      const value = node[prop];
      if (value === undefined || typeof value === 'object') continue;
      const el = page.locator(`#${id}`);
      const tag = await el.evaluate((e) => (e as unknown as { tagName: string }).tagName.toLowerCase());
      if (!['input', 'select', 'textarea'].includes(tag)) continue;
      assert.equal(await el.inputValue(), String(value), `${node.type} edit dialog: #${id} shows the wrong value`);
    }
  }

  await t.test('each node of the default flow opens its edit dialog with its fields', async () => {
    assert.ok(canvasNodes.length > 0, 'no nodes of ours on the default tab');
    for (const node of canvasNodes) {
      await page
        .locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id='${node.id}'] rect.red-ui-flow-node`)
        .dblclick();
      const x = info(node.type);
      assert.ok(x.fieldIds.length > 0, `${node.type} has no node-input-* fields in its template`);
      await page.locator(`#${x.fieldIds[0]}`).waitFor({ state: 'attached' });
      await checkFields(node, 'node-input-');
      await assertFieldsFit(page, '#dialog-form', node.type);
      await page.screenshot({ path: outputFile(`e2e-dialog-${node.type}.png`) });
      await page.locator('#node-dialog-cancel').click();
      await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
    }
  });

  await t.test('the flm-tmpo dialog shows the API token the node serves, which is not the device key', async () => {
    const node = canvasNodes.find((n) => n.type === 'flm-tmpo');
    assert.ok(node, 'no flm-tmpo on the default tab');
    await page
      .locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id='${node.id}'] rect.red-ui-flow-node`)
      .dblclick();
    await page.locator('#flm-tmpo-show-token').click();
    const shown = page.locator('#flm-tmpo-token-in-use');
    const text = await until('the token in the dialog', 10_000, async () => (await shown.textContent()) || undefined);
    assert.match(text, /^[0-9a-f]{32} \(derived\)$/);
    const key = (JSON.parse(readFileSync(join(dataDir, 'device.json'), 'utf8')) as { key: string }).key;
    assert.ok(!text.includes(key), 'the device key is not the API token');
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
  });

  await t.test(
    "the serial-port lookup of flm-p1 and flm-board comes from the module's resources and answers",
    async () => {
      // The button's script is shared (resources/serial-port-lookup.js, served by Node-RED under
      // resources/<module>/): a missing file would leave the button dead without any other sign.
      for (const type of ['flm-p1', 'flm-board']) {
        const node = canvasNodes.find((n) => n.type === type);
        assert.ok(node, `no ${type} on the default tab`);
        await page
          .locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id='${node.id}'] rect.red-ui-flow-node`)
          .dblclick();
        const loaded = await page.evaluate(
          () => typeof (globalThis as unknown as { flmSerialPortLookup?: unknown }).flmSerialPortLookup,
        );
        assert.equal(loaded, 'function', 'resources/serial-port-lookup.js is not loaded in the editor');
        const button = page.locator(`#${type}-lookup`);
        await button.waitFor({ state: 'visible' });
        await page.locator('#node-dialog-cancel').waitFor({ state: 'visible' });
        // No udev here: "No serial ports found"; a machine with ports gets the list under the field.
        // The click is repeated until answered: the dialog binds the button just after it shows.
        await until(`${type}: an answer to the lookup`, 10_000, async () => {
          if ((await page.locator('.red-ui-notification', { hasText: 'serial ports' }).count()) > 0) return true;
          if ((await page.locator('.ui-autocomplete:visible').count()) > 0) return true;
          await button.click();
          return false;
        });
        await page.locator('#node-dialog-cancel').click();
        await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
        // the next node must be answered on its own: wait for this notification to close by itself
        await until(
          'the lookup notification to close',
          20_000,
          async () => (await page.locator('.red-ui-notification', { hasText: 'serial ports' }).count()) === 0,
        );
      }
    },
  );

  await t.test('every node of every example opens its edit dialog with its fields', async () => {
    // Nodes that are not in the default flow (and the settings the examples give them) only
    // meet a person through Import > Examples: import each and open every node of ours.
    const dir = join(repoRoot, 'examples');
    let opened = 0;
    const shot = new Set<string>();
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      const example = JSON.parse(readFileSync(join(dir, f), 'utf8')) as FlowNode[];
      // An example has no tab: Node-RED 4 adds an imported tab without showing it, while
      // nodes without one land in the flow in view, or (Import to: new flow) in a new tab it shows.
      assert.ok(!example.some((n) => n.type === 'tab'), `${f} has a tab: importing it would not show it`);
      const ours = example.filter((n) => ourTypes().has(n.type) && !info(n.type).isConfig);
      const { importedIds, landed } = await page.evaluate((nodes) => {
        const RED = (globalThis as unknown as { RED: any }).RED;
        const before = new Set<string>();
        RED.nodes.eachWorkspace((w: { id: string }) => before.add(w.id));
        RED.view.importNodes(nodes, { generateIds: true, addFlow: true });
        const tabs: string[] = [];
        RED.nodes.eachWorkspace((w: { id: string }) => (before.has(w.id) ? undefined : tabs.push(w.id)));
        return {
          importedIds: RED.nodes.filterNodes({ z: tabs[0] }).map((n: { id: string }) => n.id) as string[],
          landed: tabs.length === 1 && RED.workspaces.active() === tabs[0],
        };
      }, example);
      assert.ok(landed, `${f}: the import did not open the tab it made`);
      // the nodes follow the mouse until dropped: drop them where they are
      await page.mouse.click(5, 5);
      await page.keyboard.press('Escape');
      const overlaps = await overlappingBoxes(page);
      assert.deepEqual(overlaps, [], `${f}: nodes drawn over each other`);
      const importedOurs = [] as string[];
      for (const id of importedIds) {
        const type = await page.evaluate((i) => (globalThis as unknown as EditorGlobal).RED.nodes.node(i).type, id);
        if (ourTypes().has(type)) importedOurs.push(id);
      }
      assert.equal(
        importedOurs.length,
        ours.length,
        `${f}: imported ${importedOurs.length} of our nodes, the file has ${ours.length}`,
      );
      for (const [i, id] of importedOurs.entries()) {
        // references to config nodes were renumbered by the import: compare the other settings
        const exampleIds = new Set(example.map((n) => n.id));
        const node = Object.fromEntries(
          Object.entries(ours[i]!).filter(([k, v]) => k === 'id' || !exampleIds.has(v as string)),
        ) as FlowNode;
        await page.evaluate((nid) => {
          const RED = (globalThis as unknown as { RED: any }).RED;
          RED.editor.edit(RED.nodes.node(nid));
        }, id);
        const x = info(node.type);
        await page.locator(`#${x.fieldIds[0]}`).waitFor({ state: 'attached' });
        await checkFields(node, 'node-input-');
        await assertFieldsFit(page, '#dialog-form', `${f}: ${node.type}`);
        if (!shot.has(node.type)) {
          shot.add(node.type);
          await page.screenshot({ path: outputFile(`e2e-dialog-${node.type}-example.png`) });
        }
        await page.locator('#node-dialog-cancel').click();
        await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
        opened++;
      }
    }
    const inExamples = new Set(
      readdirSync(dir)
        .filter((x) => x.endsWith('.json'))
        .flatMap((x) => (JSON.parse(readFileSync(join(dir, x), 'utf8')) as FlowNode[]).map((n) => n.type)),
    );
    for (const x of types.filter((y) => !y.isConfig)) assert.ok(inExamples.has(x.type), `${x.type} is in no example`);
    t.diagnostic(`${opened} example nodes opened`);
    await page.evaluate((id) => (globalThis as unknown as EditorGlobal).RED.workspaces.show(id), tabId);
  });

  await t.test('the device dialog keeps Kube ids and FLM03 parameters through a plain save', async () => {
    // The board example's table has a clamp parameter (vrms) and two Kube sensors: rows whose
    // extra fields only show for their class. Opened from the imported example's flm-board.
    const example = JSON.parse(readFileSync(join(repoRoot, 'examples', 'FLM sensor board.json'), 'utf8')) as FlowNode[];
    const want = example.find((n) => n.type === 'flm-device')!.sensors as Array<Record<string, unknown>>;
    assert.ok(
      want.some((x) => x.class === 'kube' && x.kid === 3) && want.some((x) => x.subtype === 'vrms'),
      'the example has a Kube sensor and a clamp parameter',
    );
    const found = await page.evaluate(() => {
      const RED = (globalThis as unknown as { RED: any }).RED;
      let hit: { board: string; device: string } | undefined;
      RED.nodes.eachNode((n: { id: string; type: string; device: string }) => {
        const d = n.type === 'flm-board' ? RED.nodes.node(n.device) : undefined;
        if (d?.sensors?.some((x: { name: string }) => x.name === 'hall temperature'))
          hit = { board: n.id, device: d.id };
      });
      if (hit) RED.editor.edit(RED.nodes.node(hit.board));
      return hit;
    });
    assert.ok(found, 'the imported board example is not in the editor');
    await page.locator('#node-input-btn-device-edit').click();
    const rows = page.locator('#node-config-input-sensor-list > li');
    await until('the board example sensor rows', 5_000, async () => (await rows.count()) === want.length);
    const kubeRow = rows.nth(want.findIndex((x) => x.name === 'hall temperature'));
    assert.equal(await kubeRow.locator('input.flm-kid').inputValue(), '3');
    assert.ok(await kubeRow.locator('input.flm-kid').isVisible(), 'the Kube id shows on a kube row');
    assert.ok(
      await kubeRow.locator('select.flm-data-type').isDisabled(),
      'a Kube field is stored as the registry says',
    );
    assert.equal(await kubeRow.locator('select.flm-type').inputValue(), 'temperature');
    const vrmsRow = rows.nth(want.findIndex((x) => x.subtype === 'vrms'));
    assert.equal(await vrmsRow.locator('select.flm-subtype').inputValue(), 'vrms');
    assert.ok(!(await vrmsRow.locator('input.flm-kid').isVisible()), 'no Kube id on a clamp row');
    await page.locator('#node-config-dialog-ok').click();
    await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
    const saved = await page.evaluate(
      (id) =>
        (globalThis as unknown as { RED: { nodes: { node(id: string): { sensors: unknown } } } }).RED.nodes.node(id)
          .sensors,
      found.device,
    );
    assert.deepEqual(saved, want, "the device dialog changed the board example's sensor table on a plain save");
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
  });

  await t.test('the flm-device config node opens from the sensor dialog with its sensor table', async () => {
    assert.ok(configNodes.length > 0, 'the default flow has no config node of ours');
    for (const cfg of configNodes) {
      // A node on the canvas that refers to this config node, whose dialog has the pencil button.
      const user = canvasNodes.find((n) => Object.values(n).includes(cfg.id));
      assert.ok(user, `no node on the default tab uses ${cfg.type} ${cfg.id}`);
      const prop = Object.keys(user).find((k) => user[k] === cfg.id)!;
      await page
        .locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id='${user.id}'] rect.red-ui-flow-node`)
        .dblclick();
      const select = page.locator(`#node-input-${prop}`);
      await select.waitFor({ state: 'attached' });
      assert.equal(await select.inputValue(), cfg.id, `${user.type}: #node-input-${prop} does not select ${cfg.id}`);
      const x = info(cfg.type);
      assert.ok(x.fieldIds.length > 0, `${cfg.type} has no node-config-input-* fields in its template`);
      // The dialog binds its pencil button just after it shows: click until the config dialog opens.
      await until(`the ${cfg.type} dialog`, 20_000, async () => {
        if ((await page.locator(`#${x.fieldIds[0]}`).count()) > 0) return true;
        await page.locator(`#node-input-btn-${prop}-edit`).click({ timeout: 2_000 });
        await page.locator(`#${x.fieldIds[0]}`).waitFor({ state: 'attached', timeout: 2_000 });
        return true;
      });
      await checkFields(cfg, 'node-config-input-');
      await assertFieldsFit(page, '#node-config-dialog-edit-form', cfg.type);
      if (cfg.type === 'flm-device') {
        // each row shows the id its sensor has, whole and copyable: the 32 hex the device derives
        const sids = page.locator('#node-config-input-sensor-list input.flm-sid');
        const shown = await until('the derived sensor ids', 10_000, async () => {
          const v = await sids.evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
          return v.length > 0 && v.every((x) => /^[0-9a-f]{32}$/.test(x)) ? v : undefined;
        });
        const deviceId = (JSON.parse(readFileSync(join(dataDir, 'device.json'), 'utf8')) as { id: string }).id;
        const table = cfg.sensors as Array<{ n: number; id?: string }>;
        assert.deepEqual(
          shown,
          table.map((x) => x.id ?? deriveSensorId(deviceId, String(x.n))),
          'the dialog shows other ids than the device gives its sensors',
        );
        assert.ok(
          await sids.first().evaluate((e) => (e as unknown as { readOnly: boolean }).readOnly),
          'the id is read-only',
        );
      }
      if (cfg.type === 'flm-device') {
        const sensors = (cfg.sensors as Array<{ name: string }>) ?? [];
        const rows = page.locator('#node-config-input-sensor-list > li');
        await until('the sensor table rows', 5_000, async () => (await rows.count()) === sensors.length);
        assert.equal(await rows.count(), 4, 'the default flow has 4 sensors');
        const names = await rows
          .locator('input.flm-name')
          .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
        assert.deepEqual(
          names,
          sensors.map((s) => s.name),
          'sensor rows in the wrong order or with wrong names',
        );
      }
      await page.screenshot({ path: outputFile(`e2e-dialog-${cfg.type}.png`) });
      if (cfg.type === 'flm-device') {
        // Saving the dialog untouched must give back exactly the sensor table it was opened with.
        await page.locator('#node-config-dialog-ok').click();
        await page.locator('#node-config-dialog-ok').waitFor({ state: 'detached' });
        const saved = await page.evaluate(
          (id) =>
            (globalThis as unknown as { RED: { nodes: { node(id: string): { sensors: unknown } } } }).RED.nodes.node(id)
              .sensors,
          cfg.id,
        );
        assert.deepEqual(saved, cfg.sensors, 'the device dialog changed the sensor table on a plain save');
      } else {
        await page.locator('#node-config-dialog-cancel').click();
        await page.locator('#node-config-dialog-cancel').waitFor({ state: 'detached' });
      }
      await page.locator('#node-dialog-cancel').click();
      await page.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
    }
  });

  await t.test('the help sidebar shows the help text of every node', async () => {
    for (const x of types) {
      assert.ok(x.helpFirstParagraph, `${x.type} has no help text with a <p> (locales/en-US/${x.set}.html)`);
      await page.evaluate((type) => (globalThis as unknown as EditorGlobal).RED.sidebar.help.show(type), x.type);
      const help = page.locator('.red-ui-help').filter({ hasText: x.helpFirstParagraph, visible: true });
      await help.first().waitFor({ state: 'visible' });
      const text = ((await help.first().textContent()) ?? '').replace(/\s+/g, ' ');
      assert.ok(text.length >= 80, `${x.type} help is too short: "${text}"`);
      assert.ok(!/No information available/i.test(text), `${x.type} help says no information`);
    }
  });

  await t.test(
    'the readings node shows the power now, and the default flow has nothing drawn over anything',
    async () => {
      await page.evaluate((id) => (globalThis as unknown as EditorGlobal).RED.workspaces.show(id), tabId);
      const sensor = canvasNodes.find((n) => n.type === 'flm-sensor');
      assert.ok(sensor, 'no flm-sensor on the default tab');
      const label = page.locator(
        `#red-ui-workspace-chart g.red-ui-flow-node-group[id='${sensor.id}'] .red-ui-flow-node-status-label`,
      );
      // e.g. "main 243 W · 4 sensors · 17 out": the first sensor of the table with a power gauge
      const text = await until('the power under the readings node', 15_000, async () => {
        const v = (await label.textContent()) ?? '';
        return /^\S+ -?\d+(\.\d+)? k?W · \d+ sensors · \d+ out/.test(v) ? v : undefined;
      });
      t.diagnostic(`flm-sensor status: ${text}`);
      const overlaps = await overlappingBoxes(page);
      assert.deepEqual(overlaps, [], 'flows/flm.json: nodes or status lines drawn over each other');
    },
  );

  await t.test('the flm-broker node shows its client count under it', async () => {
    const brokers = canvasNodes.filter((n) => n.type === 'flm-broker');
    assert.ok(brokers.length > 0, 'no flm-broker on the default tab');
    for (const b of brokers) {
      const label = page.locator(
        `#red-ui-workspace-chart g.red-ui-flow-node-group[id='${b.id}'] .red-ui-flow-node-status-label`,
      );
      const text = await until(`a status mentioning "client" under ${b.id}`, 10_000, async () => {
        const s = (await label.textContent()) ?? '';
        return /client/.test(s) ? s : undefined;
      });
      t.diagnostic(`flm-broker status: ${text}`);
    }
    for (const n of canvasNodes) {
      const s = await page
        .locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id='${n.id}'] .red-ui-flow-node-status-label`)
        .textContent();
      t.diagnostic(`${n.type} ${n.id} status: ${s ?? '(none)'}`);
    }
  });

  await t.test('screenshot of the editor with the default flow', async () => {
    await page.evaluate((type) => (globalThis as unknown as EditorGlobal).RED.sidebar.help.show(type), 'flm-sensor');
    await page.evaluate(() => (globalThis as unknown as EditorGlobal).RED.view.select({ nodes: [] }));
    // Show our palette category in the picture: filter the palette down to our types.
    await page.locator('#red-ui-palette-search input').pressSequentially('flm', { delay: 20 });
    await page.locator(".red-ui-palette-node[data-palette-type='inject']").waitFor({ state: 'hidden' });
    await page.locator(`#red-ui-palette-container-${PALETTE_CATEGORY}`).waitFor({ state: 'visible' });
    const file = outputFile('e2e-editor.png');
    await page.screenshot({ path: file });
    assert.ok(existsSync(file));
    t.diagnostic(`screenshot: ${file}`);
  });

  await t.test('in a Dutch browser the palette, dialogs and help speak Dutch', async () => {
    // Node-RED takes the editor's language from the browser (or the user's setting); Dutch has
    // no catalog in Node-RED itself, so its own words stay English while ours are Dutch.
    const ctx = await browser!.newContext({ viewport: VIEWPORT, locale: 'nl' });
    try {
      const nl = await ctx.newPage();
      nl.setDefaultTimeout(10_000);
      nl.on('pageerror', (err) => pageErrors.push(`(nl) ${err.stack ?? err.message}`));
      await nl.goto(`${nr!.baseUrl}/`, { waitUntil: 'domcontentloaded', timeout: 30_000 });
      const password = readFileSync(join(dataDir, ADMIN_PASSWORD_FILE), 'utf8').trim();
      await nl.locator('#node-dialog-login-username').fill(nr!.login.user);
      await nl.locator('#node-dialog-login-password').fill(password);
      await nl.locator('#node-dialog-login-submit').click();
      await nl
        .locator(".red-ui-palette-node[data-palette-type='inject']")
        .waitFor({ state: 'visible', timeout: 30_000 });
      await nl.evaluate((id) => (globalThis as unknown as EditorGlobal).RED.workspaces.show(id), tabId);
      for (const x of types.filter((y) => !y.isConfig)) {
        const entry = nl.locator(`.red-ui-palette-node[data-palette-type='${x.type}']`);
        assert.equal(
          await entry.getAttribute('data-palette-label'),
          paletteLabel('nl', x),
          `${x.type} Dutch palette label`,
        );
      }
      const sensor = canvasNodes.find((n) => n.type === 'flm-sensor')!;
      const group = nl.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id='${sensor.id}']`);
      await group.locator('rect.red-ui-flow-node').dblclick();
      await nl.locator('#node-input-p1MaxPowerKw').waitFor({ state: 'attached' });
      assert.equal(await nl.locator("label[for='node-input-device'] span").textContent(), 'Toestel');
      assert.equal(await nl.locator("label[for='node-input-p1MaxPowerKw'] span").textContent(), 'P1-aansluiting');
      await assertFieldsFit(nl, '#dialog-form', 'flm-sensor (nl)');
      await nl.screenshot({ path: outputFile('e2e-dialog-nl-flm-sensor.png') });
      await nl.locator('#node-input-btn-device-edit').click();
      await nl.locator('#node-config-input-sensor-list > li').first().waitFor({ state: 'visible' });
      assert.equal(await nl.locator("label[for='node-config-input-deviceKey'] span").textContent(), 'Toestelsleutel');
      assert.equal(
        await nl
          .locator(
            '#node-config-input-sensor-list select.flm-store, #node-config-input-sensor-list select.flm-data-type',
          )
          .first()
          .locator('option:checked')
          .textContent(),
        'teller (energie)',
      );
      await assertFieldsFit(nl, '#node-config-dialog-edit-form', 'flm-device (nl)');
      await nl.screenshot({ path: outputFile('e2e-dialog-nl-flm-device.png') });
      await nl.locator('#node-config-dialog-cancel').click();
      await nl.locator('#node-dialog-cancel').click();
      await nl.locator('#node-dialog-cancel').waitFor({ state: 'detached' });
      // the help of the Dutch catalog (nodes/locales/nl/flm-sensor.html)
      await nl.evaluate((type) => (globalThis as unknown as EditorGlobal).RED.sidebar.help.show(type), 'flm-sensor');
      const helpNl = readFileSync(join(repoRoot, 'nodes', 'locales', 'nl', 'flm-sensor.html'), 'utf8');
      const firstWords = /<p>([^<]{20,60})/.exec(helpNl)?.[1]?.trim();
      assert.ok(firstWords, 'the Dutch help has a first paragraph');
      await nl
        .locator('.red-ui-help')
        .filter({ hasText: firstWords, visible: true })
        .first()
        .waitFor({ state: 'visible' });
      await nl.evaluate(() => (globalThis as unknown as EditorGlobal).RED.view.select({ nodes: [] }));
      await nl.screenshot({ path: outputFile('e2e-editor-nl.png') });
    } finally {
      await ctx.close();
    }
  });

  for (const e of consoleErrors) t.diagnostic(`browser console error: ${e}`);
  assert.deepEqual(pageErrors, [], `uncaught errors in the editor:\n${pageErrors.join('\n')}`);
});

test('Node-RED logged no errors from our nodes', () => {
  const ours = (nr?.logs ?? []).filter(
    (l) => l.level <= 20 && (l.type ? ourTypes().has(l.type) : l.msg.includes(moduleName)),
  );
  for (const l of nr?.logs ?? []) console.log(`node-red log [${l.level}] ${l.type ?? ''} ${l.id ?? ''}: ${l.msg}`);
  assert.deepEqual(ours, [], 'errors logged by our nodes');
});
