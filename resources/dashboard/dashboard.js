/* global uPlot */
// The Fluksometer dashboard page (served by flm-dashboard, see core/dashboard/http.ts). Plain
// script, no build step: live tiles from the event stream, today's and this month's energy from
// the TMPO counters, history charts with uPlot, FLM03 port gauges. Data requests carry the
// editor's token (localStorage 'auth-tokens', which the editor itself uses on this origin).
(function () {
  'use strict';

  var STRINGS = {
    en: { time: 'time', login: 'Log in', loginWhy: "The dashboard uses the editor's login.", user: 'Username', password: 'Password',
      now: 'Now', ports: 'Sensor board ports', history: 'History', hour: 'hour', day: 'day', month: 'month',
      year: 'year', custom: 'custom', show: 'show', hint: 'Wheel to zoom, drag to pan, double-click to reset.',
      today: 'today', thisMonth: 'this month', consumption: 'consumption', production: 'production',
      import: 'import', export: 'export', net: 'grid', gas: 'gas', water: 'water', other: '',
      live: 'live', down: 'reconnecting…', noDash: 'No dashboard deployed: add an flm-dashboard node to a flow.',
      noData: 'No history for this period.', badLogin: 'Login refused', power: 'power', voltage: 'voltage',
      current: 'current', pf: 'power factor', port: 'Port', waiting: 'waiting for readings…',
      orToken: 'Or, on a Flukso server, your master token:', token: 'Master token',
      serverLive: 'Live values arrive with each upload (an FLM sends every 5 minutes): each tile says how old its reading is.' },
    nl: { time: 'tijd', login: 'Aanmelden', loginWhy: 'Het dashboard gebruikt de aanmelding van de editor.', user: 'Gebruikersnaam',
      password: 'Wachtwoord', now: 'Nu', ports: 'Poorten van de sensorkaart', history: 'Geschiedenis', hour: 'uur',
      day: 'dag', month: 'maand', year: 'jaar', custom: 'vrij', show: 'toon',
      hint: 'Scrollen om te zoomen, slepen om te verschuiven, dubbelklikken om terug te zetten.', today: 'vandaag',
      thisMonth: 'deze maand', consumption: 'verbruik', production: 'productie', import: 'afname', export: 'injectie',
      net: 'net', gas: 'gas', water: 'water', other: '', live: 'live', down: 'opnieuw verbinden…',
      noDash: 'Geen dashboard: voeg een flm-dashboard-node toe aan een flow.', noData: 'Geen geschiedenis voor deze periode.',
      badLogin: 'Aanmelden geweigerd', power: 'vermogen', voltage: 'spanning', current: 'stroom', pf: 'arbeidsfactor',
      port: 'Poort', waiting: 'wachten op metingen…', orToken: 'Of, op een Flukso-server, je mastertoken:',
      token: 'Mastertoken', serverLive: 'Live waarden komen met elke upload (een FLM stuurt om de 5 minuten): elke tegel toont hoe oud zijn meting is.' },
    fr: { time: 'heure', login: 'Connexion', loginWhy: "Le tableau de bord utilise la connexion de l'éditeur.", user: 'Utilisateur',
      password: 'Mot de passe', now: 'Maintenant', ports: 'Ports de la carte capteurs', history: 'Historique',
      hour: 'heure', day: 'jour', month: 'mois', year: 'année', custom: 'libre', show: 'afficher',
      hint: 'Molette pour zoomer, glisser pour déplacer, double-clic pour revenir.', today: "aujourd'hui",
      thisMonth: 'ce mois', consumption: 'consommation', production: 'production', import: 'prélèvement',
      export: 'injection', net: 'réseau', gas: 'gaz', water: 'eau', other: '', live: 'en direct',
      down: 'reconnexion…', noDash: 'Aucun tableau de bord : ajoutez un nœud flm-dashboard à un flux.',
      noData: 'Pas d\u2019historique pour cette période.', badLogin: 'Connexion refusée', power: 'puissance',
      voltage: 'tension', current: 'courant', pf: 'facteur de puissance', port: 'Port', waiting: 'en attente de mesures…',
      orToken: 'Ou, sur un serveur Flukso, votre jeton maître :', token: 'Jeton maître',
      serverLive: 'Les valeurs en direct arrivent à chaque envoi (un FLM envoie toutes les 5 minutes) : chaque tuile indique l\u2019âge de sa mesure.' },
    de: { time: 'Zeit', login: 'Anmelden', loginWhy: 'Das Dashboard nutzt die Anmeldung des Editors.', user: 'Benutzer',
      password: 'Passwort', now: 'Jetzt', ports: 'Anschlüsse der Sensorplatine', history: 'Verlauf', hour: 'Stunde',
      day: 'Tag', month: 'Monat', year: 'Jahr', custom: 'frei', show: 'zeigen',
      hint: 'Mausrad zum Zoomen, ziehen zum Verschieben, Doppelklick zum Zurücksetzen.', today: 'heute',
      thisMonth: 'diesen Monat', consumption: 'Verbrauch', production: 'Erzeugung', import: 'Bezug',
      export: 'Einspeisung', net: 'Netz', gas: 'Gas', water: 'Wasser', other: '', live: 'live',
      down: 'verbinde neu…', noDash: 'Kein Dashboard: fügen Sie einem Flow einen flm-dashboard-Knoten hinzu.',
      noData: 'Kein Verlauf für diesen Zeitraum.', badLogin: 'Anmeldung abgelehnt', power: 'Leistung',
      voltage: 'Spannung', current: 'Strom', pf: 'Leistungsfaktor', port: 'Anschluss', waiting: 'warte auf Messwerte…',
      orToken: 'Oder, auf einem Flukso-Server, Ihr Master-Token:', token: 'Master-Token',
      serverLive: 'Live-Werte kommen mit jedem Upload (ein FLM sendet alle 5 Minuten): jede Kachel zeigt, wie alt ihr Messwert ist.' },
  };
  var lang = (navigator.language || 'en').slice(0, 2).toLowerCase();
  var S = STRINGS[lang] || STRINGS.en;
  var COLORS = ['#2c6fbb', '#e6a700', '#c0392b', '#27ae60', '#8e44ad', '#1a9fb5', '#d35400', '#7f8c8d'];
  // as the tiles' borders (dashboard.css)
  var ROLE_COLORS = { consumption: '#2c6fbb', net: '#2c6fbb', production: '#e6a700', import: '#c0392b',
    export: '#27ae60', gas: '#8e44ad', water: '#1a9fb5' };
  var $ = function (id) { return document.getElementById(id); };

  // What tests and the benchmark read: the last chart drawn and when.
  var probe = (window.flmDash = { drawn: null, seen: {} });

  function token() {
    try { return (JSON.parse(localStorage.getItem('auth-tokens') || 'null') || {}).access_token; } catch (e) { return undefined; }
  }
  // A Flukso user of a server dashboard logs in with their master token instead (sent as X-Token).
  function masterToken() { try { return sessionStorage.getItem('flm-master-token') || ''; } catch (e) { return ''; } }
  function authHeaders() {
    if (masterToken()) return { 'X-Token': masterToken() };
    var t = token();
    return t ? { Authorization: 'Bearer ' + t } : {};
  }

  function api(path) {
    return fetch('api/' + path, { headers: authHeaders(), cache: 'no-store' }).then(function (r) {
      if (r.status === 401) { try { sessionStorage.removeItem('flm-master-token'); } catch (e) { /* none kept */ } showLogin(); throw new Error('login needed'); }
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + ' ' + t); });
      return r;
    });
  }

  // ---- login: the editor's own token exchange, token kept where the editor keeps it ----
  function showLogin() {
    ['live', 'history', 'ports-section'].forEach(function (id) { $(id).hidden = true; });
    $('login').hidden = false;
  }
  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    fetch('../../auth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: '',
        username: $('login-user').value, password: $('login-password').value }),
    }).then(function (r) {
      if (!r.ok) throw new Error(S.badLogin);
      return r.json();
    }).then(function (data) {
      localStorage.setItem('auth-tokens', JSON.stringify(data));
      location.reload();
    }).catch(function (err) { $('login-error').textContent = err.message; });
  });

  $('token-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem('flm-master-token', $('login-token').value.trim());
    location.reload();
  });

  // ---- number formatting ----
  function fmt(v, digits) {
    return v.toLocaleString(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function powerText(v) {
    var a = Math.abs(v);
    return a >= 10000 ? [fmt(a / 1000, 2), 'kW'] : [fmt(a, 0), 'W'];
  }
  /** a counter's increase as people read it: kWh, m³ of gas, litres of water */
  function amountText(sensor, delta) {
    if (!isFinite(delta)) return '–';
    if (sensor.type === 'gas') return fmt(delta / 1000, 3) + ' m³';
    if (sensor.type === 'water') return delta >= 10000 ? fmt(delta / 1000, 2) + ' m³' : fmt(delta, 0) + ' L';
    if (sensor.counter && sensor.counter.unit === 'Wh') return fmt(delta / 1000, 2) + ' kWh';
    return fmt(delta, 1) + ' ' + ((sensor.counter && sensor.counter.unit) || '');
  }

  // ---- live tiles ----
  var dash = null;
  var sensors = {}; // sid -> sensor (with gauge/counter)
  var baselines = {}; // sid -> { today, month }

  function tileRole(s) {
    if (s.role === 'net' && s.gauge) return s.gauge.value < 0 ? 'export' : 'import';
    return s.role;
  }

  function renderTiles() {
    var box = $('tiles');
    var list = Object.keys(sensors).map(function (k) { return sensors[k]; });
    if (dash && dash.server) list = list.filter(function (s) { return view.picked && view.picked[s.sid] && s.type === 'electricity'; });
    else list.sort(function (a, b) { return order(a) - order(b) || a.name.localeCompare(b.name); });
    if (!list.length) { box.textContent = S.waiting; return; }
    box.textContent = '';
    list.forEach(function (s) {
      var role = tileRole(s);
      var el = document.createElement('div');
      el.className = 'tile ' + s.role + (s.role === 'net' ? (role === 'export' ? ' exporting' : ' importing') : '');
      el.dataset.sid = s.sid;
      if (dash && dash.server && s.color) el.style.borderLeftColor = s.color; // as its line in the chart
      var head = document.createElement('div');
      head.innerHTML = '<span class="name"></span><span class="role"></span>';
      head.firstChild.textContent = s.label || s.name;
      head.lastChild.textContent = S[role] || '';
      el.appendChild(head);
      var p = document.createElement('div');
      p.className = 'power';
      // today's and this month's use need the store's baselines, which server mode does not fetch
      var b = dash && dash.server ? undefined : baselines[s.sid] || sinceStart(s);
      var extra = b ? liveExtra(s, b) : 0;
      if (!s.gauge && b && (s.role === 'gas' || s.role === 'water')) {
        // a meter without a rate: its use today is the number that matters
        p.innerHTML = '<span class="value"></span>';
        p.firstChild.textContent = amountText(s, b.today + extra);
      } else if (s.gauge) {
        var pt = s.gauge.unit === 'W' ? powerText(s.gauge.value) : [fmt(s.gauge.value, 1), s.gauge.unit];
        p.innerHTML = '<span class="value"></span> <small></small>';
        p.firstChild.textContent = pt[0];
        p.lastChild.textContent = pt[1];
      } else {
        p.innerHTML = '<span class="value">–</span>';
      }
      el.appendChild(p);
      ageLine(el, s.gauge || s.counter);
      if ((s.counter && !(dash && dash.server)) || b) {
        var e = document.createElement('div');
        e.className = 'energy';
        e.innerHTML = '<span>' + S.today + ' <b class="today"></b></span><span>' + S.thisMonth + ' <b class="month"></b></span>';
        e.querySelector('.today').textContent = b ? amountText(s, b.today + extra) : '–';
        e.querySelector('.month').textContent = b ? amountText(s, b.month + extra) : '–';
        el.appendChild(e);
      }
      box.appendChild(el);
    });
  }
  /**
   * How old the tile's reading is, when that matters: a server's readings come with each upload
   * (minutes apart), and a device whose readings stopped should not look live. Greyed once stale.
   */
  function ageLine(el, r) {
    if (!r) return;
    var age = Math.max(0, Math.floor(Date.now() / 1000) - r.ts);
    var server = dash && dash.server;
    if (!server && age < 90) return;
    if (age > (server ? 900 : 90)) el.classList.add('stale');
    var d = document.createElement('div');
    d.className = 'age';
    var rtf = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }) : null;
    var n = age < 60 ? [-age, 'second'] : age < 3600 ? [-Math.floor(age / 60), 'minute'] : age < 86400 ? [-Math.floor(age / 3600), 'hour'] : [-Math.floor(age / 86400), 'day'];
    d.textContent = rtf ? rtf.format(n[0], n[1]) : new Date(r.ts * 1000).toLocaleString(lang);
    d.title = new Date(r.ts * 1000).toLocaleString(lang);
    el.appendChild(d);
  }
  setInterval(function () { if (dash) renderTilesSoon(); }, 30000); // ages move on
  function order(s) {
    return ['net', 'import', 'export', 'consumption', 'production', 'gas', 'water', 'other'].indexOf(s.role);
  }

  function applySensors(list) {
    var next = {};
    list.forEach(function (s) { next[s.sid] = s; });
    sensors = next;
    renderTiles();
    renderPick();
  }

  function applyReading(r) {
    var s = sensors[r.sid];
    if (!s) return;
    s[r.kind] = { ts: r.ts, value: r.value, unit: r.unit };
    if (r.kind === 'counter' && !s.firstCounter) s.firstCounter = s.counter;
    var seen = probe.seen[r.sid + '/' + r.kind] = probe.seen[r.sid + '/' + r.kind] || [];
    seen.push({ ts: r.ts, value: r.value, at: Date.now() });
    if (seen.length > 100) seen.shift();
    renderTilesSoon();
    if (r.kind === 'gauge') liveIntoChart(r);
  }
  var tilesTimer = null;
  function renderTilesSoon() {
    if (tilesTimer) return;
    tilesTimer = requestAnimationFrame(function () { tilesTimer = null; renderTiles(); });
  }

  // ---- FLM03 port gauges ----
  var ports = {};
  var GAUGES = [
    { key: 'power', label: 'power', unit: 'W', max: 11500, digits: 0 },
    { key: 'vrms', label: 'voltage', unit: 'V', min: 200, max: 260, digits: 1 },
    { key: 'irms', label: 'current', unit: 'A', max: 50, digits: 2 },
    { key: 'pf', label: 'pf', unit: '', max: 1, digits: 2 },
  ];
  function renderPorts() {
    var keys = Object.keys(ports);
    $('ports-section').hidden = !keys.length;
    var box = $('ports');
    box.textContent = '';
    keys.sort(function (a, b) { return a - b; }).forEach(function (k) {
      var p = ports[k];
      var v = p.values;
      var values = { power: (v.pplus || 0) - (v.pminus || 0), vrms: v.vrms, irms: v.irms, pf: v.pf };
      var el = document.createElement('div');
      el.className = 'port';
      el.innerHTML = '<h3></h3><div class="gauges"></div>';
      el.firstChild.textContent = S.port + ' ' + p.port;
      GAUGES.forEach(function (g) { el.lastChild.appendChild(gauge(g, values[g.key])); });
      box.appendChild(el);
    });
  }
  function gauge(g, value) {
    var min = g.min || 0;
    var f = value === undefined ? 0 : Math.max(0, Math.min(1, (Math.abs(value) - min) / (g.max - min)));
    var a = Math.PI * (1 - f);
    var x = 50 + 40 * Math.cos(a);
    var y = 50 - 40 * Math.sin(a);
    var d = document.createElement('div');
    d.className = 'gauge';
    d.innerHTML = '<svg viewBox="0 0 100 56"><path d="M10 50 A40 40 0 0 1 90 50" fill="none" stroke="#e3e7ec" stroke-width="9"/>' +
      (f > 0 ? '<path d="M10 50 A40 40 0 0 1 ' + x.toFixed(2) + ' ' + y.toFixed(2) + '" fill="none" stroke="#2c6fbb" stroke-width="9"/>' : '') +
      '</svg><div class="v"></div><div class="l"></div>';
    d.querySelector('.v').textContent = value === undefined ? '–' : fmt(value, g.digits) + (g.unit ? ' ' + g.unit : '');
    d.querySelector('.l').textContent = S[g.label];
    return d;
  }

  // ---- today's and this month's energy: live counter minus the counter at midnight / the 1st ----
  function startOfDay(d) { return new Date(d.getFullYear(), d.getMonth(), d.getDate()); }
  function startOfMonth(d) { return new Date(d.getFullYear(), d.getMonth(), 1); }
  function unix(d) { return Math.floor(d.getTime() / 1000); }

  function f64(sid, q) {
    return api(dash.id + '/series/' + sid + '?' + q + '&format=f64').then(function (r) { return r.arrayBuffer(); })
      .then(function (buf) { return new Float64Array(buf); }, function () { return new Float64Array(0); });
  }
  /**
   * Today's and this month's use from the TMPO history: the counter's increases over 15-minute
   * buckets since the first of the month (a reset, a negative increase, counts as nothing), plus
   * what the live counter added since the last stored value.
   */
  function refreshBaselines() {
    var now = new Date();
    var t = unix(now);
    var month = unix(startOfMonth(now));
    var midnight = unix(startOfDay(now));
    var q = 'start=' + month + '&end=' + (t + 1) + '&resolution=900';
    var jobs = Object.keys(sensors).filter(function (sid) { return sensors[sid].role !== 'other'; }).map(function (sid) {
      return Promise.all([f64(sid, q + '&unit=delta'), f64(sid, q + '&unit=counter')]).then(function (r) {
        var delta = r[0];
        var counter = r[1];
        var today = 0;
        var total = 0;
        var any = false;
        for (var k = 0; k < delta.length; k++) {
          var d = delta[k];
          if (!(d > 0)) { any = any || d === 0; continue; }
          any = true;
          total += d;
          if (month + (k + 1) * 900 > midnight) today += d;
        }
        var last = NaN;
        for (var j = counter.length - 1; j >= 0; j--) if (!isNaN(counter[j])) { last = counter[j]; break; }
        if (!any && isNaN(last)) { delete baselines[sid]; return; }
        baselines[sid] = { today: today, month: total, stored: last };
      });
    });
    Promise.all(jobs).then(renderTiles);
  }
  /**
   * Before the store holds any of this sensor's history (a fresh start: the first block is
   * written after some minutes), use is counted from the first counter the dashboard saw.
   */
  function sinceStart(s) {
    if (!s.firstCounter || !s.counter) return undefined;
    return { today: 0, month: 0, stored: s.firstCounter.value };
  }
  /** what the live counter added since the last stored one (nothing after a reset) */
  function liveExtra(s, b) {
    if (!s.counter || isNaN(b.stored)) return 0;
    var d = s.counter.value - b.stored;
    return d > 0 ? d : 0;
  }

  // ---- the live stream: fetch (so the token goes along), Server-Sent Events framing ----
  function connect() {
    var conn = $('conn');
    fetch('api/' + dash.id + '/events', { headers: authHeaders(), cache: 'no-store' }).then(function (r) {
      if (r.status === 401) { showLogin(); return; }
      if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
      conn.className = 'conn live';
      conn.textContent = S.live;
      var reader = r.body.getReader();
      var dec = new TextDecoder();
      var buf = '';
      function pump() {
        return reader.read().then(function (x) {
          if (x.done) throw new Error('stream ended');
          buf += dec.decode(x.value, { stream: true });
          var i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            onFrame(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      conn.className = 'conn down';
      conn.textContent = S.down;
      setTimeout(connect, 2000);
    });
  }
  function onFrame(text) {
    var ev = 'message';
    var data = '';
    text.split('\n').forEach(function (line) {
      if (line.indexOf('event: ') === 0) ev = line.slice(7);
      else if (line.indexOf('data: ') === 0) data += line.slice(6);
    });
    if (!data) return;
    var d = JSON.parse(data);
    if (ev === 'state') { applySensors(d.sensors); d.ports.forEach(function (p) { ports[p.port] = p; }); renderPorts(); }
    else if (ev === 'sensors') applySensors(d);
    else if (ev === 'reading') applyReading(d);
    else if (ev === 'port') { ports[d.port] = d; renderPortsSoon(); }
  }
  var portsTimer = null;
  function renderPortsSoon() {
    if (portsTimer) return;
    portsTimer = requestAnimationFrame(function () { portsTimer = null; renderPorts(); });
  }

  // ---- history ----
  var view = { range: 'day', start: 0, end: 0, res: 0, picked: null };
  var plot = null;

  function chartable(s) { return s.role !== 'other'; }
  function renderPick() {
    var box = $('pick');
    box.textContent = '';
    var list = Object.keys(sensors).map(function (k) { return sensors[k]; }).filter(chartable);
    // A server's sensors stay in the server's order: by owner and device, so each device's are together.
    if (!(dash && dash.server)) list.sort(function (a, b) { return order(a) - order(b) || a.name.localeCompare(b.name); });
    if (!view.picked) {
      view.picked = {};
      list.forEach(function (s, i) { view.picked[s.sid] = s.type === 'electricity' && i < COLORS.length; });
    }
    var used = {};
    var device = null;
    list.forEach(function (s, i) {
      if (dash && dash.server && s.did !== device) {
        device = s.did;
        var h = document.createElement('span');
        h.className = 'device';
        h.textContent = s.owner + ' · ' + s.did.slice(0, 8);
        box.appendChild(h);
      }
      // The first sensor of a role gets the role's colour (as its tile), others the palette's; on
      // a server every sensor its own, so devices side by side stay apart.
      var color = dash && dash.server ? COLORS[i % COLORS.length]
        : ROLE_COLORS[s.role] && !used[s.role] ? ROLE_COLORS[s.role] : COLORS[i % COLORS.length];
      used[s.role] = true;
      var l = document.createElement('label');
      l.innerHTML = '<input type="checkbox"> <span class="sw"></span><span class="n"></span>';
      l.querySelector('input').checked = !!view.picked[s.sid];
      l.querySelector('input').addEventListener('change', function (e) {
        view.picked[s.sid] = e.target.checked;
        load();
        if (dash && dash.server) refreshLatest();
      });
      l.querySelector('.sw').style.background = color;
      l.querySelector('.n').textContent = s.name;
      s.color = color;
      box.appendChild(l);
    });
  }

  /** the period around `at` for a named range, in local time */
  function period(range, at) {
    var d = new Date(at * 1000);
    var a, b;
    if (range === 'hour') { a = new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()); b = new Date(a.getTime() + 3600e3); }
    else if (range === 'day') { a = startOfDay(d); b = new Date(a.getFullYear(), a.getMonth(), a.getDate() + 1); }
    else if (range === 'month') { a = startOfMonth(d); b = new Date(a.getFullYear(), a.getMonth() + 1, 1); }
    else { a = new Date(d.getFullYear(), 0, 1); b = new Date(d.getFullYear() + 1, 0, 1); }
    return [unix(a), unix(b)];
  }
  var RES = { hour: 10, day: 60, month: 900, year: 3600 };
  /** a resolution giving at most ~20 000 buckets for a free range */
  function resolutionFor(seconds) {
    var steps = [10, 60, 300, 900, 3600, 86400];
    for (var i = 0; i < steps.length; i++) if (seconds / steps[i] <= 20000) return steps[i];
    return 604800;
  }
  function setRange(range, at) {
    view.range = range;
    if (range !== 'custom') {
      var p = period(range, at);
      view.start = p[0];
      view.end = p[1];
      view.res = RES[range];
    }
    document.querySelectorAll('#ranges button').forEach(function (b) { b.classList.toggle('on', b.dataset.range === range); });
    $('custom').hidden = range !== 'custom';
    $('period').textContent = periodLabel();
    load();
  }
  function periodLabel() {
    var a = new Date(view.start * 1000);
    var o = view.range === 'year' ? { year: 'numeric' } : view.range === 'month' ? { year: 'numeric', month: 'long' }
      : view.range === 'day' ? { dateStyle: 'full' } : { dateStyle: 'medium', timeStyle: 'short' };
    var t = a.toLocaleString(lang, o);
    if (view.range === 'hour' || view.range === 'custom') t += ' – ' + new Date(view.end * 1000).toLocaleString(lang, { dateStyle: view.range === 'custom' ? 'medium' : undefined, timeStyle: 'short' });
    return t;
  }
  function shift(dir) {
    if (view.range === 'custom') { var w = view.end - view.start; view.start += dir * w; view.end += dir * w; setRange('custom'); return; }
    setRange(view.range, dir < 0 ? view.start - 1 : view.end);
  }

  var chartDrawn;
  var chartDone = new Promise(function (resolve) { chartDrawn = resolve; });
  var loadSeq = 0;
  /** fetch and draw the period, or `win` (a zoomed part of it, at a finer resolution) */
  function load(win) {
    if (!dash) return;
    win = win || { start: view.start, end: view.end, res: view.res };
    var seq = ++loadSeq;
    var picked = Object.keys(sensors).filter(function (sid) { return view.picked && view.picked[sid] && chartable(sensors[sid]); });
    var t0 = performance.now();
    var q = 'start=' + win.start + '&end=' + win.end + '&resolution=' + win.res + '&format=f64';
    Promise.all(picked.map(function (sid) {
      return api(dash.id + '/series/' + sid + '?' + q).then(function (r) {
        var head = JSON.parse(r.headers.get('X-Series') || '{}');
        return r.arrayBuffer().then(function (buf) { return { sid: sid, head: head, values: new Float64Array(buf) }; });
      }, function () { return { sid: sid, head: {}, values: new Float64Array(0) }; });
    })).then(function (answers) {
      if (seq !== loadSeq) return;
      var tFetched = performance.now();
      draw(answers, t0, tFetched, win);
      chartDrawn();
    }, chartDrawn);
  }

  var UNIT_LABEL = { watt: 'W', lperday: 'L/day', mean: '', kwhperyear: 'kWh/year', lpermin: 'L/min', m3peryear: 'm³/year' };

  var shown = null; // the window the chart holds: the period, or a zoomed part of it
  function draw(answers, t0, tFetched, win) {
    shown = win;
    var n = Math.round((win.end - win.start) / win.res);
    var xs = new Array(n);
    for (var k = 0; k < n; k++) xs[k] = win.start + (k + 1) * win.res;
    var data = [xs];
    // Times in the browser's language: 14:00 or 2 PM, 7 dec. or Dec 7, as people there write them.
    var series = [{ label: S.time, value: function (u, t) { return t == null ? '–' : new Date(t * 1000).toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' }); } }];
    var scales = { x: { time: true } };
    var axes = [{ space: 90, values: function (u, splits, ax, space, incr) {
      return splits.map(function (t) {
        var d = new Date(t * 1000);
        if (incr >= 28 * 86400) return d.toLocaleDateString(lang, { month: 'short', year: 'numeric' });
        if (incr >= 86400) return d.toLocaleDateString(lang, { day: 'numeric', month: 'short' });
        return d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
      });
    } }];
    var units = [];
    var points = 0;
    answers.forEach(function (a) {
      var s = sensors[a.sid];
      var unit = a.head.unit || 'watt';
      var ys = new Array(n);
      for (var k = 0; k < n; k++) {
        var v = k < a.values.length ? a.values[k] : NaN;
        if (v !== v) ys[k] = null; else { ys[k] = v; points++; }
      }
      data.push(ys);
      if (units.indexOf(unit) < 0) {
        units.push(unit);
        scales[unit] = { auto: true };
        axes.push({ scale: unit, side: units.length === 1 ? 3 : 1, grid: { show: units.length === 1 }, size: 70,
          label: UNIT_LABEL[unit] !== undefined ? UNIT_LABEL[unit] : unit });
      }
      series.push({ label: (s.label || s.name) + (UNIT_LABEL[unit] ? ' (' + UNIT_LABEL[unit] + ')' : ''), scale: unit,
        stroke: s.color || COLORS[0], width: 1.5, spanGaps: false,
        fill: s.role === 'production' || s.role === 'export' ? hexAlpha(s.color, 0.12) : undefined,
        points: { filter: livePointsAlone },
        value: function (u, v) { return v == null ? '–' : fmt(v, unit === 'watt' ? 0 : 1); } });
    });
    $('chart-note').textContent = points ? '' : S.noData;
    var box = $('chart');
    var opts = {
      width: Math.max(300, box.clientWidth - 12),
      height: 420,
      series: series,
      scales: scales,
      axes: axes,
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      legend: { live: true },
      plugins: [wheelZoomAndPan()],
      hooks: {
        draw: [function () {
          if (probe.pending) {
            var done = performance.now();
            probe.drawn = { ms: done - probe.pending.t0, fetchMs: probe.pending.tFetched - probe.pending.t0,
              buckets: n, points: probe.pending.points, series: answers.length, start: win.start, end: win.end, res: win.res };
            probe.pending = null;
          }
        }],
      },
    };
    probe.pending = { t0: t0, tFetched: tFetched, points: points };
    if (plot) plot.destroy();
    box.textContent = '';
    plot = new uPlot(opts, data, box);
    if (win.view) plot.setScale('x', { min: win.view[0], max: win.view[1] });
    live = { sids: answers.map(function (a) { return a.sid; }), units: answers.map(function (a) { return a.head.unit || 'watt'; }),
      sums: {}, pending: false };
    probe.chart = function () { return { xs: plot.data[0], ys: plot.data.slice(1), sids: answers.map(function (a) { return a.sid; }) }; };
  }
  /**
   * A chart that reaches now goes on with the live gauges: history stops at the last stored TMPO
   * block (minutes ago), so each bucket after it shows the mean of the readings that fall in it.
   */
  var live = null;
  function liveIntoChart(r) {
    if (!plot || !live || !shown || r.unit !== 'W') return;
    var i = live.sids.indexOf(r.sid);
    if (i < 0 || live.units[i] !== 'watt' || r.ts <= shown.start || r.ts > shown.end) return;
    var k = Math.ceil((r.ts - shown.start) / shown.res) - 1;
    var ys = plot.data[i + 1];
    var key = i + '/' + k;
    var sum = live.sums[key];
    if (!sum && ys[k] != null) return; // stored history has this bucket
    sum = live.sums[key] = sum || { total: 0, n: 0 };
    sum.total += r.value;
    sum.n++;
    ys[k] = Math.round((sum.total / sum.n) * 1000) / 1000;
    if (live.pending) return;
    live.pending = true;
    requestAnimationFrame(function () {
      live.pending = false;
      // Keep the part in view; setting it again re-ranges the value axes over the new points.
      var x = { min: plot.scales.x.min, max: plot.scales.x.max };
      plot.setData(plot.data, false);
      plot.setScale('x', x);
      $('chart-note').textContent = '';
    });
  }
  /** live buckets with no neighbour draw no line: show them as dots */
  function livePointsAlone(u, si, show) {
    if (show || !live) return null;
    var ys = u.data[si];
    var out = [];
    Object.keys(live.sums).forEach(function (key) {
      var p = key.split('/');
      var k = Number(p[1]);
      if (Number(p[0]) === si - 1 && ys[k] != null && ys[k - 1] == null && ys[k + 1] == null) out.push(k);
    });
    return out.length ? out : null;
  }
  function hexAlpha(hex, a) {
    var n = parseInt((hex || '#2c6fbb').slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  /**
   * Wheel zooms around the cursor, dragging pans, double-click shows the whole period again. Zoom
   * and pan move the drawn data at once (smooth); once they rest, the part in view is asked for
   * again at a finer resolution when one fits, so a year zoomed to a day shows minutes.
   */
  function wheelZoomAndPan() {
    var settle = null;
    function refineSoon(u) {
      clearTimeout(settle);
      settle = setTimeout(function () { refine(u.scales.x.min, u.scales.x.max); }, 400);
    }
    function setX(u, min, max) {
      var w = max - min;
      if (w > view.end - view.start) { min = view.start; max = view.end; }
      else if (min < view.start) { min = view.start; max = min + w; }
      else if (max > view.end) { max = view.end; min = max - w; }
      u.setScale('x', { min: min, max: max });
      refineSoon(u);
    }
    return {
      hooks: {
        ready: function (u) {
          var over = u.over;
          over.addEventListener('wheel', function (e) {
            e.preventDefault();
            var x = u.scales.x;
            var at = u.posToVal(e.offsetX, 'x');
            var f = e.deltaY < 0 ? 0.8 : 1.25;
            setX(u, at - (at - x.min) * f, at + (x.max - at) * f);
          }, { passive: false });
          over.addEventListener('mousedown', function (e) {
            if (e.button !== 0) return;
            var x0 = e.clientX;
            var s0 = { min: u.scales.x.min, max: u.scales.x.max };
            var perPx = (s0.max - s0.min) / over.clientWidth;
            function move(ev) {
              var d = (ev.clientX - x0) * perPx;
              setX(u, s0.min - d, s0.max - d);
            }
            function up() { document.removeEventListener('mousemove', move); document.removeEventListener('mouseup', up); }
            document.addEventListener('mousemove', move);
            document.addEventListener('mouseup', up);
          });
          over.addEventListener('dblclick', function () {
            clearTimeout(settle);
            if (shown && (shown.start !== view.start || shown.end !== view.end)) load();
          });
        },
      },
    };
  }
  var STEPS = [10, 60, 300, 900, 3600, 86400];
  /** the part [min, max] in view: fetch it finer if a finer resolution fits, or go back to the period */
  function refine(min, max) {
    if (!shown) return;
    var res = STEPS.filter(function (r) { return (max - min) / r <= 3000; })[0] || shown.res;
    if (res >= shown.res && min >= shown.start && max <= shown.end) return;
    if (res >= view.res) { if (shown.res !== view.res || shown.start !== view.start) load(); return; }
    // a margin either side, so a little panning needs no new request
    var w = max - min;
    var start = Math.max(view.start, Math.floor((min - w / 2) / res) * res);
    var end = Math.min(view.end, Math.ceil((max + w / 2) / res) * res);
    load({ start: start, end: end, res: res, view: [min, max] });
  }

  // ---- controls, start ----
  document.querySelectorAll('[data-t]').forEach(function (el) { if (S[el.dataset.t] !== undefined) el.textContent = S[el.dataset.t]; });
  document.documentElement.lang = STRINGS[lang] ? lang : 'en';
  $('ranges').addEventListener('click', function (e) {
    var r = e.target.dataset && e.target.dataset.range;
    if (!r) return;
    if (r === 'custom') {
      $('from').value = localInput(view.start);
      $('to').value = localInput(view.end);
    }
    setRange(r, Math.floor(Date.now() / 1000));
  });
  $('prev').addEventListener('click', function () { shift(-1); });
  $('next').addEventListener('click', function () { shift(1); });
  $('apply').addEventListener('click', function () {
    var a = unix(new Date($('from').value));
    var b = unix(new Date($('to').value));
    if (!(b > a)) return;
    view.start = a; view.end = b; view.res = resolutionFor(b - a);
    setRange('custom');
  });
  function localInput(t) {
    var d = new Date(t * 1000);
    var p = function (n) { return String(n).padStart(2, '0'); };
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes());
  }

  /** `#range=day&at=<unix>` or `#start=&end=&res=&sensors=sid,sid` pick what the chart shows (links, tests) */
  function fromHash() {
    var h = new URLSearchParams(location.hash.slice(1));
    if (h.get('sensors')) {
      view.picked = {};
      h.get('sensors').split(',').forEach(function (sid) { view.picked[sid] = true; });
    }
    if (h.get('start') && h.get('end')) {
      view.start = Number(h.get('start'));
      view.end = Number(h.get('end'));
      view.res = Number(h.get('res')) || resolutionFor(view.end - view.start);
      return 'custom';
    }
    return h.get('range') || 'day';
  }

  window.addEventListener('resize', function () { if (plot) plot.setSize({ width: Math.max(300, $('chart').clientWidth - 12), height: 420 }); });

  api('list').then(function (r) { return r.json(); }).then(function (list) {
    var want = new URLSearchParams(location.search).get('id');
    dash = list.filter(function (d) { return d.id === want; })[0] || list[0];
    if (!dash) { $('live').hidden = false; $('tiles').textContent = S.noDash; return; }
    $('title').textContent = 'Fluksometer · ' + dash.device;
    document.title = 'Fluksometer · ' + dash.device;
    return api(dash.id + '/state').then(function (r) { return r.json(); }).then(function (st) {
      $('live').hidden = false;
      $('history').hidden = false;
      var range = fromHash();
      if (st.server) return startServer(st, range);
      applySensors(st.sensors);
      st.ports.forEach(function (p) { ports[p.port] = p; });
      renderPorts();
      connect();
      var h = new URLSearchParams(location.hash.slice(1));
      setRange(range, Number(h.get('at')) || Math.floor(Date.now() / 1000));
      // The chart's requests first; today's and this month's totals right after.
      chartDone.then(function () {
        refreshBaselines();
        setInterval(refreshBaselines, 60000);
      });
    });
  }).catch(function (err) { if (err.message !== 'login needed') $('chart-note').textContent = String(err.message); });

  /**
   * A server dashboard: the history of every device's sensors this login may read, any of them
   * in one chart, and tiles with the newest reading each upload brings (no FLM03 port gauges).
   */
  function startServer(st, range) {
    dash.server = true;
    $('title').textContent = 'Flukso server · ' + dash.name;
    document.title = 'Flukso server · ' + dash.name;
    $('live-note').textContent = S.serverLive;
    $('live-note').hidden = false;
    st.sensors.forEach(function (s) {
      s.role = s.type === 'electricity' ? 'consumption' : s.type === 'gas' || s.type === 'water' ? s.type : 'other';
      s.label = s.owner + ' · ' + s.did.slice(0, 8) + ' · ' + s.name;
    });
    var next = {};
    st.sensors.forEach(function (s) { next[s.sid] = s; });
    sensors = next;
    renderPick();
    connect(); // each upload's newest reading, of the sensors this login may see
    var h = new URLSearchParams(location.hash.slice(1));
    setRange(range, Number(h.get('at')) || Math.floor(Date.now() / 1000));
    chartDone.then(function () {
      refreshLatest();
      setInterval(refreshLatest, 60000);
    });
  }
  /**
   * Server mode's tiles before (or without) a live reading: the chart's sensors' power over the
   * last minute the store holds of the last hour; a newer live reading stays.
   */
  function refreshLatest() {
    var t = Math.floor(Date.now() / 1000);
    var list = Object.keys(sensors).map(function (k) { return sensors[k]; }).filter(function (s) {
      return view.picked && view.picked[s.sid] && s.type === 'electricity';
    });
    Promise.all(list.map(function (s) {
      return f64(s.sid, 'start=' + (t - 3600) + '&end=' + t + '&resolution=60').then(function (v) {
        var stored;
        for (var k = v.length - 1; k >= 0; k--) {
          if (!isNaN(v[k])) { stored = { value: v[k], unit: 'W', ts: t - 3600 + (k + 1) * 60 }; break; }
        }
        if (stored && (!s.gauge || s.gauge.ts < stored.ts)) s.gauge = stored;
        else if (!stored && s.gauge && s.gauge.ts < t - 3600) delete s.gauge;
      });
    })).then(renderTiles);
  }
})();
