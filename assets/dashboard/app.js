// tats dashboard: the page. Plain script (no build step), served by lib/dashboard/server.ts.
// Every string that comes from the runs (folder names, config values, class names) is put on
// the page as text (textContent), never as markup.
'use strict';
(() => {
  /** Nice names for the metrics.jsonl fields we know; any other numeric field is plotted too. */
  const LABELS = {
    loss: 'MAE loss',
    lr: 'learning rate',
    clips_per_s: 'clips / s',
    grad_norm: 'gradient norm',
    step_ms: 'step time (ms)',
    kl: 'KL, old vs new policy',
    // Runs of the softmax sampler, before the exact kl.
    approx_kl: 'approx. KL (old sampler)',
    entropy: 'policy entropy (nats / token)',
    clip_frac: 'PPO clip fraction',
    value_loss: 'value loss',
    reward: 'reward',
    sampler_loss: 'sampler loss',
    beta: 'KL coefficient β',
    ppo_epochs: 'PPO epochs taken',
    masked_moving_share: 'masked moving share',
    moving_share: 'moving share (all tokens)',
    acc: 'train accuracy',
  };
  const ORDER = Object.keys(LABELS);
  /** Fields that are not curves. */
  const NOT_PLOTTED = new Set(['step', 'epoch', 'time']);
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f', '#64748b', '#a16207'];

  const snake = (k) => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
  const labelOf = (k) => LABELS[snake(k)] || snake(k).replace(/_/g, ' ');
  const rank = (k) => {
    const i = ORDER.indexOf(snake(k));
    return i < 0 ? ORDER.length : i;
  };
  const byRank = (a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);

  /** Creates an element: props `class`, `text`, `on<event>`, `dataset`, others as attributes; children as nodes or text. */
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }

  const $ = (sel) => document.querySelector(sel);
  /** URL of a file of a run (each folder name percent-encoded). */
  const fileUrl = (id, name, version) =>
    '/files/' + (id === '.' ? '' : id.split('/').map(encodeURIComponent).join('/') + '/') + encodeURIComponent(name) + (version ? '?v=' + encodeURIComponent(String(version)) : '');
  const fmt = (v, digits = 4) => (typeof v !== 'number' || !isFinite(v) ? '-' : Math.abs(v) >= 1000 || v === 0 ? String(Math.round(v * 100) / 100) : Number(v.toPrecision(digits)).toString());
  /** Axis numbers: short, and small ones (learning rates) in exponent form. */
  const tick = (v) => (v === 0 ? '0' : Math.abs(v) < 1e-2 || Math.abs(v) >= 1e5 ? v.toExponential(1) : Number(v.toPrecision(3)).toString());
  const pct = (v) => (typeof v === 'number' ? (100 * v).toFixed(1) + '%' : '-');

  async function getJson(url) {
    const r = await fetch(url, { headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(url + ': ' + r.status);
    return r.json();
  }

  // ---------------------------------------------------------------- run list

  const state = { runs: [], selected: new Set(), view: null, es: null, charts: null, summaries: new Map(), pictures: new Map() };

  function shortName(run) {
    if (run.parent !== undefined && run.parent !== '.' && run.id.startsWith(run.parent + '/')) return run.id.slice(run.parent.length + 1);
    return run.id === '.' ? $('#root').textContent || '.' : run.id;
  }

  function badge(stateName) {
    return h('span', { class: 'badge state-' + stateName, text: stateName });
  }

  function progress(run) {
    if (run.step === null || run.step === undefined) return '';
    return run.steps ? `${run.step}/${run.steps}` : `step ${run.step}`;
  }

  function renderRunList(runs) {
    state.runs = runs;
    const ul = $('#runs');
    ul.replaceChildren();
    if (!runs.length) ul.append(h('li', { class: 'muted', text: 'No runs yet: this list fills in as runs are written.' }));
    const current = state.view ? state.view.ids : [];
    for (const run of runs) {
      let depth = 0;
      for (let p = run.parent; p !== undefined && depth < 3; p = runs.find((r) => r.id === p)?.parent) depth++;
      const box =
        run.kind === 'compare'
          ? h('span', { class: 'nobox' })
          : h('input', {
              type: 'checkbox',
              title: 'tick to show side by side',
              onchange: (e) => {
                if (e.target.checked) state.selected.add(run.id);
                else state.selected.delete(run.id);
                $('#compare-btn').disabled = state.selected.size < 2;
              },
            });
      if (box.tagName === 'INPUT' && state.selected.has(run.id)) box.checked = true;
      const li = h(
        'li',
        { class: 'run' + (current.includes(run.id) ? ' current' : '') + (run.parent !== undefined ? ' child' : ''), dataset: { id: run.id } },
        box,
        h('a', { href: '#run=' + encodeURIComponent(run.id), class: 'run-name', title: run.id, text: shortName(run) }),
        h('span', { class: 'kind', text: run.kind }),
        badge(run.state),
        h('span', { class: 'progress', text: progress(run) }),
      );
      if (depth > 0) li.classList.add('depth-' + Math.min(depth, 3));
      ul.append(li);
    }
  }

  // ---------------------------------------------------------------- charts

  /** One chart per metric, each with a series per run; grows as rows arrive. */
  class ChartSet {
    constructor(container, runs) {
      this.container = container;
      this.runs = runs; // [{id, name}]
      this.data = new Map(runs.map((r) => [r.id, { x: [], cols: new Map() }]));
      this.charts = new Map(); // key -> {u, el}
      this.pending = false;
      this.resize = new ResizeObserver(() => this.fit());
      this.resize.observe(container);
    }

    add(id, rows, reset) {
      const d = this.data.get(id);
      if (!d) return;
      if (reset) {
        d.x = [];
        d.cols = new Map();
      }
      for (const row of rows) {
        if (typeof row.step !== 'number') continue;
        if (d.x.length && row.step <= d.x[d.x.length - 1]) continue; // already shown
        const n = d.x.length;
        d.x.push(row.step);
        for (const [k, v] of Object.entries(row)) {
          if (NOT_PLOTTED.has(k) || (typeof v !== 'number' && v !== null)) continue;
          let col = d.cols.get(k);
          if (!col) {
            col = new Array(n).fill(null);
            d.cols.set(k, col);
          }
          col.push(typeof v === 'number' && isFinite(v) ? v : null);
        }
        for (const col of d.cols.values()) if (col.length < n + 1) col.push(null);
      }
      this.schedule();
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }

    keys() {
      const ks = new Set();
      for (const d of this.data.values()) for (const [k, col] of d.cols) if (col.some((v) => v !== null)) ks.add(k);
      return [...ks].sort(byRank);
    }

    draw() {
      const keys = this.keys();
      this.container.classList.toggle('empty-charts', keys.length === 0);
      for (const key of keys) {
        const tables = this.runs.map((r) => {
          const d = this.data.get(r.id);
          return [d.x, d.cols.get(key) || new Array(d.x.length).fill(null)];
        });
        const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
        let c = this.charts.get(key);
        if (!c) {
          const el = h('div', { class: 'chart', dataset: { key, points: '0' } });
          this.insert(el, key, keys);
          const u = new uPlot(
            {
              width: this.width(),
              height: 190,
              title: labelOf(key),
              scales: { x: { time: false } },
              legend: { show: this.runs.length > 1 },
              cursor: { drag: { x: true, y: false } },
              series: [{ label: 'step' }, ...this.runs.map((r, i) => ({ label: r.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: { show: false } }))],
              axes: [{}, { size: 64, values: (u, splits) => splits.map(tick) }],
            },
            data,
            el,
          );
          c = { u, el };
          this.charts.set(key, c);
        } else {
          c.u.setData(data);
        }
        let points = 0;
        for (let s = 1; s < data.length; s++) for (const v of data[s]) if (v !== null && v !== undefined) points++;
        c.el.dataset.points = String(points);
      }
    }

    insert(el, key, keys) {
      const after = keys.slice(keys.indexOf(key) + 1).find((k) => this.charts.has(k));
      if (after) this.container.insertBefore(el, this.charts.get(after).el);
      else this.container.append(el);
    }

    width() {
      const w = this.container.clientWidth || 900;
      const cols = w > 1100 ? 3 : w > 700 ? 2 : 1;
      return Math.floor((w - (cols - 1) * 12) / cols) - 2;
    }

    fit() {
      const w = this.width();
      for (const c of this.charts.values()) c.u.setSize({ width: w, height: 190 });
    }

    destroy() {
      this.resize.disconnect();
      for (const c of this.charts.values()) c.u.destroy();
      this.charts.clear();
    }
  }

  // ---------------------------------------------------------------- pieces of a view

  function section(title, ...body) {
    return h('section', { class: 'panel' }, h('h2', { text: title }), ...body);
  }

  /** The picture of a run: reconstruction.png and its animation, refreshed when the run writes new ones. */
  function pictureBox(run, title) {
    const box = h('figure', { class: 'picture', dataset: { id: run.id } });
    state.pictures.set(run.id, { box, title, png: undefined, gif: undefined });
    updatePicture(run);
    return box;
  }

  function updatePicture(run) {
    const p = state.pictures.get(run.id);
    if (!p) return;
    const pic = run.picture || {};
    if (pic.png === p.png && pic.gif === p.gif && p.box.childNodes.length) return;
    p.png = pic.png;
    p.gif = pic.gif;
    const kids = [];
    if (p.title) kids.push(h('figcaption', { text: p.title }));
    if (pic.png === undefined && pic.gif === undefined) {
      kids.push(h('p', { class: 'muted', text: 'No picture yet: the trainer draws one at every checkpoint.' }));
    } else {
      const row = h('div', { class: 'picture-row' });
      if (pic.gif !== undefined) row.append(h('img', { class: 'picture-gif', alt: 'animation: input, policy, masked input, reconstruction', src: fileUrl(run.id, 'reconstruction.gif', pic.gif) }));
      if (pic.png !== undefined) row.append(h('img', { class: 'picture-png', alt: 'input, masked input, reconstruction and policy', src: fileUrl(run.id, 'reconstruction.png', pic.png) }));
      kids.push(row);
      const at = pic.png ?? pic.gif;
      kids.push(h('p', { class: 'muted small', text: 'drawn ' + new Date(at).toLocaleTimeString() + (run.step ? ' (step ' + run.step + ' or before)' : '') }));
    }
    p.box.replaceChildren(...kids);
  }

  /** A confusion matrix as a table, each row shaded by its share of the row's videos. */
  function confusionTable(conf) {
    if (!conf || !Array.isArray(conf.matrix)) return h('p', { class: 'muted', text: 'no confusion matrix' });
    const names = conf.classNames || conf.matrix.map((_, i) => String(i));
    const table = h('table', { class: 'confusion' });
    table.append(h('tr', {}, h('th', { class: 'corner', text: 'true \\ predicted' }), ...names.map((n) => h('th', { text: n }))));
    conf.matrix.forEach((row, i) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      const tr = h('tr', {}, h('th', { text: names[i] ?? String(i) }));
      row.forEach((v, j) => {
        const td = h('td', { text: v });
        const share = v / total;
        td.style.backgroundColor = i === j ? `rgba(22, 163, 74, ${0.12 + 0.75 * share})` : `rgba(220, 38, 38, ${0.75 * share})`;
        tr.append(td);
      });
      table.append(tr);
    });
    return table;
  }

  function evalPanel(ev, title) {
    if (!ev) return null;
    return h(
      'div',
      { class: 'eval' },
      title ? h('h3', { text: title }) : null,
      h('p', {}, h('b', { text: 'top-1 ' + pct(ev.top1) }), ', top-5 ' + pct(ev.top5) + (ev.videos ? `, ${ev.videos} videos` : '') + (ev.clips ? `, ${ev.clips} x ${ev.crops} views` : '')),
      confusionTable(ev.confusion),
    );
  }

  /** The config as text, inside a collapsed <details>. */
  function configPanel(config) {
    if (!config) return null;
    return h('details', { class: 'config' }, h('summary', { text: 'config.json' }), h('pre', { text: JSON.stringify(config, null, 2) }));
  }

  function headline(run) {
    const facts = [];
    if (run.strategy) facts.push(run.kind === 'compare' ? 'strategies ' + run.strategy : 'strategy ' + run.strategy);
    if (run.step !== null && run.step !== undefined) facts.push(progress(run));
    if (typeof run.loss === 'number') facts.push('loss ' + fmt(run.loss));
    if (typeof run.top1 === 'number') facts.push('top-1 ' + pct(run.top1));
    return h('div', { class: 'headline', dataset: { id: run.id } }, h('h1', { class: 'title', text: run.id === '.' ? $('#root').textContent : run.id }), h('span', { class: 'kind', text: run.kind }), badge(run.state), h('span', { class: 'facts', text: facts.join(' · ') }));
  }

  function configFacts(config) {
    if (!config || typeof config !== 'object') return null;
    const m = config.model || (config.classifier && config.classifier.model) || {};
    const parts = [];
    if (m.preset) parts.push(`ViT-${m.preset}`);
    if (m.frames && m.size) parts.push(`${m.frames}x${m.size}`);
    if (config.masking) parts.push(`${config.masking.strategy} ${config.masking.ratio}`);
    if (config.batchSize) parts.push(`batch ${config.batchSize}`);
    if (config.device) parts.push(String(config.device));
    if (config.dataset) parts.push(String(config.dataset));
    return parts.length ? h('p', { class: 'muted', text: parts.join(' · ') }) : null;
  }

  // ---------------------------------------------------------------- views

  function clearView() {
    if (state.charts) state.charts.destroy();
    state.charts = null;
    state.pictures.clear();
    state.summaries.clear();
  }

  /** Opens the event stream for these runs (the run list always comes along). */
  function connect(ids) {
    if (state.es) state.es.close();
    const q = ids.map((id) => 'id=' + encodeURIComponent(id)).join('&');
    const es = new EventSource('/api/events' + (q ? '?' + q : ''));
    state.es = es;
    es.onopen = () => setConn('live', true);
    es.onerror = () => setConn(es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting', false);
    es.addEventListener('runs', (e) => renderRunList(JSON.parse(e.data)));
    es.addEventListener('metrics', (e) => {
      const m = JSON.parse(e.data);
      if (state.charts) state.charts.add(m.id, m.rows, m.reset);
    });
    es.addEventListener('run', (e) => {
      const run = JSON.parse(e.data);
      if (run.missing) return;
      state.summaries.set(run.id, run);
      updatePicture(run);
      const head = document.querySelector('.headline');
      if (head && head.dataset.id === run.id) head.replaceWith(headline(run));
      const cell = document.querySelector(`tr[data-id="${CSS.escape(run.id)}"] .cell-state`);
      if (cell) cell.replaceChildren(badge(run.state), ' ' + progress(run));
    });
  }

  function setConn(text, ok) {
    const el = $('#conn');
    el.textContent = text;
    el.classList.toggle('ok', ok);
  }

  async function showRun(id) {
    const d = await getJson('/api/run?id=' + encodeURIComponent(id));
    if (d.summary.kind === 'compare') return showCompare(d);
    const main = $('#main');
    const charts = h('div', { class: 'charts' });
    main.replaceChildren(
      headline(d.summary),
      configFacts(d.config) || '',
      d.summary.kind === 'pretrain' ? section('Picture', pictureBox(d.summary)) : '',
      section('Curves', charts),
      d.eval ? section('Evaluation', evalPanel(d.eval)) : '',
      configPanel(d.config) || '',
    );
    state.charts = new ChartSet(charts, [{ id, name: id }]);
    connect([id]);
  }

  async function showCompare(d) {
    const id = d.summary.id;
    const pre = d.children.filter((c) => c.kind === 'pretrain');
    const down = d.children.filter((c) => c.kind === 'finetune' || c.kind === 'eval');
    const name = (c) => c.id.slice(id === '.' ? 0 : id.length + 1);
    const main = $('#main');
    const charts = h('div', { class: 'charts' });
    const rows = (d.compare && d.compare.rows) || [];
    const table = h('table', { class: 'runs-table' });
    table.append(h('tr', {}, ...['strategy', 'state', 'pretrain loss', 'top-1', 'top-5', 'clips/s', 'masked moving share'].map((t) => h('th', { text: t }))));
    // One row per strategy: its pretraining run where the folder has it, else the report's numbers.
    const strategies = [...new Set([...pre.map((c) => c.strategy || name(c)), ...rows.map((r) => r.strategy)])];
    for (const st of strategies) {
      const c = pre.find((x) => (x.strategy || name(x)) === st);
      const r = rows.find((x) => x.strategy === st) || {};
      const ft = c ? down.find((x) => x.id.startsWith(c.id.replace(/\/pretrain$/, '/'))) : down.find((x) => name(x).split('/')[0] === st);
      table.append(
        h(
          'tr',
          c ? { dataset: { id: c.id } } : {},
          h('td', {}, c ? h('a', { href: '#run=' + encodeURIComponent(c.id), text: st }) : st),
          h('td', { class: 'cell-state' }, c ? [badge(c.state), ' ' + progress(c)] : ''),
          h('td', { text: fmt(r.pretrainLoss ?? (c && c.loss)) }),
          h('td', { text: pct(r.top1 ?? (ft && ft.top1)) }),
          h('td', { text: pct(r.top5) }),
          h('td', { text: fmt(r.clipsPerS, 3) }),
          h('td', { text: pct(r.maskedMovingShare) }),
        ),
      );
    }
    if (d.compare && d.compare.scratch) {
      table.append(h('tr', {}, h('td', { text: 'scratch (no pretraining)' }), h('td', {}), h('td', { text: '-' }), h('td', { text: pct(d.compare.scratch.top1) }), h('td', { text: pct(d.compare.scratch.top5) }), h('td', {}), h('td', {})));
    }
    const budget = d.compare && d.compare.budget;
    const pictures = h('div', { class: 'pictures' }, ...pre.map((c) => pictureBox(c, c.strategy || name(c))));
    const evals = await Promise.all(down.map((c) => getJson('/api/run?id=' + encodeURIComponent(c.id)).catch(() => null)));
    const matrices = h('div', { class: 'matrices' }, ...evals.filter((e) => e && e.eval).map((e) => evalPanel(e.eval, name(e.summary))));
    main.replaceChildren(
      headline(d.summary),
      budget ? h('p', { class: 'muted', text: `budget: ${budget.steps} steps, batch ${budget.batchSize}, model ${budget.model}, ${budget.frames}x${budget.size}, mask ratio ${budget.ratio}, ${budget.dataset}, downstream ${budget.downstream} ${budget.downstreamSteps} steps` }) : h('p', { class: 'muted', text: d.compare ? '' : 'in progress: compare.json is written when every strategy is done' }),
      section('Strategies', table),
      pre.length ? section('Pretraining curves, overlaid', charts) : '',
      pre.length ? section('Pictures', pictures) : '',
      matrices.childNodes.length ? section('Downstream evaluation', matrices) : '',
      d.files.includes('compare.png') ? section('Report charts', h('img', { class: 'report-img', alt: 'compare.png', src: fileUrl(id, 'compare.png') }), d.files.includes('loss.png') ? h('img', { class: 'report-img', alt: 'loss.png', src: fileUrl(id, 'loss.png') }) : '') : '',
    );
    state.charts = new ChartSet(charts, pre.map((c) => ({ id: c.id, name: c.strategy || name(c) })));
    connect([id, ...pre.map((c) => c.id)]);
  }

  async function showSideBySide(ids) {
    const details = await Promise.all(ids.map((id) => getJson('/api/run?id=' + encodeURIComponent(id)).catch(() => null)));
    const ok = details.filter(Boolean);
    const main = $('#main');
    const charts = h('div', { class: 'charts' });
    const table = h('table', { class: 'runs-table' });
    table.append(h('tr', {}, ...['run', 'kind', 'state', 'strategy', 'model', 'loss', 'top-1'].map((t) => h('th', { text: t }))));
    for (const d of ok) {
      const s = d.summary;
      const m = (d.config && (d.config.model || (d.config.classifier && d.config.classifier.model))) || {};
      table.append(
        h(
          'tr',
          { dataset: { id: s.id } },
          h('td', {}, h('a', { href: '#run=' + encodeURIComponent(s.id), text: s.id })),
          h('td', { text: s.kind }),
          h('td', { class: 'cell-state' }, badge(s.state), ' ' + progress(s)),
          h('td', { text: s.strategy || '-' }),
          h('td', { text: m.preset ? `${m.preset} ${m.frames}x${m.size}` : '-' }),
          h('td', { text: fmt(s.loss) }),
          h('td', { text: pct(s.top1) }),
        ),
      );
    }
    const pics = ok.filter((d) => d.summary.kind === 'pretrain');
    const evals = ok.filter((d) => d.eval);
    main.replaceChildren(
      h('div', { class: 'headline' }, h('h1', { class: 'title', text: 'Side by side' }), h('span', { class: 'facts', text: `${ok.length} runs` })),
      section('Runs', table),
      section('Curves, overlaid', charts),
      pics.length ? section('Pictures', h('div', { class: 'pictures' }, ...pics.map((d) => pictureBox(d.summary, d.summary.id)))) : '',
      evals.length ? section('Evaluation', h('div', { class: 'matrices' }, ...evals.map((d) => evalPanel(d.eval, d.summary.id)))) : '',
    );
    state.charts = new ChartSet(charts, ok.map((d) => ({ id: d.summary.id, name: d.summary.id })));
    connect(ok.map((d) => d.summary.id));
  }

  function parseHash() {
    // #run=ID or #runs=ID,ID with each id percent-encoded (so a comma in a name stays inside it).
    const hash = location.hash.slice(1);
    const dec = (s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    if (hash.startsWith('run=')) return { ids: [dec(hash.slice(4))], multi: false };
    if (hash.startsWith('runs=')) return { ids: hash.slice(5).split(',').filter(Boolean).map(dec), multi: true };
    return { ids: [], multi: false };
  }

  async function route() {
    clearView();
    const v = parseHash();
    state.view = v;
    document.body.dataset.view = v.multi ? 'side-by-side' : v.ids.length ? 'run' : 'home';
    try {
      if (!v.ids.length) {
        $('#main').replaceChildren(h('p', { class: 'empty', text: 'Pick a run on the left, or tick several and press "Side by side".' }));
        connect([]);
      } else if (v.multi) await showSideBySide(v.ids);
      else await showRun(v.ids[0]);
    } catch (err) {
      $('#main').replaceChildren(h('p', { class: 'error', text: String(err && err.message ? err.message : err) }));
      connect([]);
    }
    renderRunList(state.runs);
    document.body.dataset.ready = '1';
  }

  $('#compare-btn').addEventListener('click', () => {
    location.hash = 'runs=' + [...state.selected].map(encodeURIComponent).join(',');
  });
  window.addEventListener('hashchange', () => void route());
  getJson('/api/runs')
    .then((r) => {
      $('#root').textContent = r.root;
      renderRunList(r.runs);
    })
    .catch(() => undefined)
    .finally(() => void route());
})();
