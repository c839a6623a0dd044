// The operations console: plain JavaScript, no dependencies. Every value that comes from the API is
// put on the page as text (textContent, text nodes), never parsed as markup. The API key lives in
// sessionStorage only (gone when the tab closes) and travels as `Authorization: Bearer`.

const KEY_STORAGE = 'order-hub-console-key';
const QUEUES_FALLBACK = ['odoo-sync', 'driver-dispatch', 'notifications', 'callbacks'];
const PAGE_SIZE = 50;

/** Who is signed in: `{ name, roles }` from GET v1/admin/whoami. */
let who = null;

const main = () => document.getElementById('main');
const canChange = () => Boolean(who?.roles.includes('admin'));

// ---- DOM, text only

/**
 * An element with attributes, event listeners (`on: { click }`) and children; strings become text
 * nodes, so nothing passed here is ever read as markup.
 */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') for (const [event, listener] of Object.entries(value)) element.addEventListener(event, listener);
    else if (name === 'text') element.textContent = String(value);
    else if (name === 'hidden' || name === 'checked' || name === 'disabled' || name === 'required' || name === 'selected') element[name] = Boolean(value);
    else if (name === 'value') element.value = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** A search form (the filters of a list): `submit` runs on Enter or the button, without a page load. */
function searchForm(submit, ...children) {
  return h(
    'form',
    {
      class: 'fields',
      role: 'search',
      on: {
        submit: (event) => {
          event.preventDefault();
          submit();
        },
      },
    },
    ...children,
  );
}

function append(parent, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

let fieldIds = 0;

/** A labelled input (or select / textarea when `control` is given). */
function field(label, control) {
  fieldIds += 1;
  const id = control.id || `f${fieldIds}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
}

function input(name, attrs = {}) {
  return h('input', { name, type: 'text', autocomplete: 'off', ...attrs });
}

function select(name, options, value) {
  return h('select', { name }, ...options.map(([optionValue, label]) => h('option', { value: optionValue, selected: optionValue === value, text: label })));
}

/** A definition list of the given [label, value] pairs; objects are shown as JSON text. */
function props(pairs) {
  return h(
    'dl',
    { class: 'props' },
    pairs.filter(([, value]) => value !== undefined).flatMap(([label, value]) => [h('dt', { text: label }), h('dd', {}, show(value))]),
  );
}

function show(value) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'note', text: '—' });
  if (typeof value === 'object' && !(value instanceof Node)) return h('pre', { text: JSON.stringify(value, null, 2) });
  return value instanceof Node ? value : String(value);
}

function badge(text, tone) {
  return h('span', { class: `badge ${tone ?? ''}`, text });
}

function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : `${date.toLocaleString()} (${iso})`;
}

function say(message, error = false) {
  const status = document.getElementById('status');
  status.textContent = message;
  status.classList.toggle('error', error);
}

function render(...children) {
  const target = main();
  target.replaceChildren(...children.flat().filter(Boolean));
  return target;
}

// ---- API

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** One call to the API beside the page (`/api/console` → `/api/v1/...`), with the signed-in key. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.status === 401) {
    signOut('The API key was not accepted; sign in again.');
    throw new ApiError(401, parsed);
  }
  if (!response.ok && !(response.status === 503 && path === 'health')) throw new ApiError(response.status, parsed);
  return parsed;
}

const q = (params) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};
const seg = encodeURIComponent;

/** Goes to a view; the same address again reloads it (a hash that does not change fires no event). */
function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Runs an action of a button: disables it meanwhile and reports the outcome. */
async function act(button, work, done) {
  button.disabled = true;
  try {
    await work();
    if (done) say(done);
    return true;
  } catch (error) {
    say(error instanceof ApiError ? `${error.status}: ${error.message}` : String(error), true);
    return false;
  } finally {
    button.disabled = false;
  }
}

function failed(error) {
  return h('p', { class: 'status error', role: 'alert', text: error instanceof ApiError ? `${error.status}: ${error.message}` : String(error) });
}

// ---- sign-in

function signInView(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').replaceChildren();
  const key = h('input', { name: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h(
    'form',
    {
      class: 'card',
      on: {
        submit: async (event) => {
          event.preventDefault();
          const value = key.value.trim();
          if (!value) return;
          sessionStorage.setItem(KEY_STORAGE, value);
          await start();
        },
      },
    },
    h('h2', { text: 'Sign in' }),
    h('p', { text: 'An API key with the role admin or support. It is kept in this tab only and sent with each call.' }),
    field('API key', key),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', text: 'Sign in' })),
  );
  render(form);
  if (message) say(message, true);
  key.focus();
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  who = null;
  signInView(message);
}

async function start() {
  if (!sessionStorage.getItem(KEY_STORAGE)) return signInView();
  try {
    who = await api('GET', 'v1/admin/whoami');
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return signOut('This key has neither the admin nor the support role.');
    if (!(error instanceof ApiError && error.status === 401)) signInView(String(error.message ?? error));
    return;
  }
  say('');
  const nav = document.getElementById('nav');
  nav.replaceChildren(
    ...[
      ['#/overview', 'Overview'],
      ['#/dead-letters', 'Dead letters'],
      ['#/audit', 'Audit'],
      ['#/lookup', 'Lookup'],
      ['#/callbacks', 'Callbacks'],
    ].map(([href, label]) => h('a', { href, text: label })),
  );
  nav.hidden = false;
  document
    .getElementById('who')
    .replaceChildren(
      h('span', { text: `${who.name} · ${who.roles.join(', ')}${canChange() ? '' : ' (read only)'}` }),
      h('button', { type: 'button', on: { click: () => signOut() }, text: 'Sign out' }),
    );
  await route();
}

// ---- routing: #/view/<arg>?<filters>

function parseHash() {
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [view = 'overview', ...rest] = path.split('/').map((part) => decodeURIComponent(part));
  return { view, args: rest, params: new URLSearchParams(search) };
}

async function route() {
  if (!who) return;
  const { view, args, params } = parseHash();
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.getAttribute('href') === `#/${view}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const views = { overview: overviewView, 'dead-letters': deadLettersView, audit: auditView, lookup: lookupView, callbacks: callbacksView };
  const show = views[view] ?? overviewView;
  render(h('p', { class: 'note', text: 'Loading…' }));
  await show(args, params);
}

// ---- overview

async function overviewView() {
  const [health, summary, attention] = await Promise.allSettled([api('GET', 'health'), api('GET', 'v1/admin/dead-letters'), api('GET', 'v1/admin/attention')]);
  const healthPart = [h('h3', { text: 'Integrations' })];
  if (health.status === 'fulfilled' && health.value) {
    const report = health.value;
    const tone = (state) => (state === 'connected' ? 'ok' : state === 'sandbox' ? 'warn' : 'bad');
    healthPart.push(
      h('p', {}, 'Overall: ', badge(report.status, report.status === 'ok' ? 'ok' : 'bad'), ` — checked ${when(report.checkedAt)}`),
      h(
        'div',
        { class: 'cards' },
        Object.entries(report.integrations ?? {}).map(([name, state]) =>
          h(
            'div',
            { class: 'card' },
            h('strong', { text: name }),
            ' ',
            badge(state, tone(state)),
            report.reasons?.[name] ? h('p', { text: report.reasons[name] }) : null,
            name in (report.lastSync ?? {}) ? h('p', { text: `Last sync: ${when(report.lastSync[name])}` }) : null,
          ),
        ),
      ),
    );
  } else healthPart.push(failed(health.reason));

  const queuesPart = [h('h3', { text: 'Dead letters' })];
  if (summary.status === 'fulfilled') {
    queuesPart.push(
      h(
        'div',
        { class: 'cards' },
        summary.value.queues.map((queue) =>
          h(
            'div',
            { class: 'card' },
            h('a', { href: `#/dead-letters/${seg(queue.name)}`, text: queue.name }),
            ' ',
            badge(String(queue.count), queue.count > 0 ? 'bad' : 'ok'),
            h('p', { text: queue.oldest ? `Oldest: ${when(queue.oldest)}` : 'Empty' }),
          ),
        ),
      ),
    );
  } else queuesPart.push(failed(summary.reason));

  const attentionPart = [h('h3', { text: 'Needs attention' })];
  if (attention.status === 'fulfilled') {
    const items = attention.value?.items ?? [];
    if (items.length === 0) attentionPart.push(h('p', { class: 'note', text: 'Nothing needs attention.' }));
    attentionPart.push(h('ul', { class: 'plain', id: 'attention' }, items.map(attentionItem)));
  } else if (attention.reason instanceof ApiError && attention.reason.status === 404) {
    attentionPart.push(h('p', { class: 'note', text: 'The attention list is not available on this server yet.' }));
  } else attentionPart.push(failed(attention.reason));

  render(h('h2', { text: 'Overview' }), healthPart, queuesPart, attentionPart);
}

function attentionItem(item) {
  const lookup = item.kind === 'order' ? `#/lookup/order/${seg(item.subject)}` : `#/lookup/booking/${seg(item.subject)}`;
  const li = h(
    'li',
    {},
    h('strong', { text: `${item.kind} ` }),
    h('a', { href: lookup, text: item.subject }),
    h('p', { text: item.reason }),
    h('p', { class: 'note', text: `since ${when(item.since)}` }),
  );
  if (canChange()) {
    const note = input('note', { required: true, minlength: '3', maxlength: '1000' });
    const button = h('button', { type: 'submit', text: 'Resolve' });
    const form = h(
      'form',
      {
        class: 'fields',
        on: {
          submit: async (event) => {
            event.preventDefault();
            if (note.value.trim().length < 3) return say('Say what was done (at least 3 characters).', true);
            const ok = await act(button, () => api('POST', `v1/admin/attention/${seg(item.id)}/resolve`, { note: note.value.trim() }), 'Resolved.');
            if (ok) li.remove();
          },
        },
      },
      field('Note (what was done)', note),
      button,
    );
    li.append(form);
  }
  return li;
}

// ---- dead letters

async function queueNames() {
  try {
    return (await api('GET', 'v1/admin/dead-letters')).queues.map((queue) => queue.name);
  } catch {
    return QUEUES_FALLBACK;
  }
}

async function deadLettersView(args, params) {
  const names = await queueNames();
  const queue = args[0] && names.includes(args[0]) ? args[0] : names[0];
  const filter = { type: params.get('type') ?? '', subject: params.get('subject') ?? '', reason: params.get('reason') ?? '', q: params.get('q') ?? '' };
  const queueSelect = select(
    'queue',
    names.map((name) => [name, name]),
    queue,
  );
  const inputs = {
    type: input('type', { value: filter.type }),
    subject: input('subject', { value: filter.subject }),
    reason: input('reason', { value: filter.reason, placeholder: 'PermanentError' }),
    q: input('q', { value: filter.q, type: 'search' }),
  };
  const form = searchForm(
    () => {
      const next = Object.fromEntries(Object.entries(inputs).map(([name, element]) => [name, element.value.trim()]));
      go(`#/dead-letters/${seg(queueSelect.value)}${q(next)}`);
    },
    field('Queue', queueSelect),
    field('Job type', inputs.type),
    field('Subject', inputs.subject),
    field('Reason', inputs.reason),
    field('Text in errors', inputs.q),
    h('button', { type: 'submit', class: 'primary', text: 'Show' }),
  );
  const list = h('div', { id: 'dead-letters' });
  const more = h('div', { class: 'actions' });
  const selected = new Set();
  const bulk = h('div', { class: 'actions' });
  const active = Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== ''));

  if (canChange()) {
    const replaySelected = h('button', {
      type: 'button',
      text: 'Replay selected',
      on: {
        click: () =>
          act(replaySelected, async () => {
            let done = 0;
            for (const id of [...selected]) {
              await api('POST', `v1/admin/dead-letters/${seg(queue)}/${seg(id)}/replay`);
              selected.delete(id);
              document.getElementById(`dl-${id}`)?.remove();
              done += 1;
            }
            say(`Replayed ${done}.`);
          }),
      },
    });
    const confirmAll = h('span', { class: 'actions', hidden: true });
    const replayAll = h('button', {
      type: 'button',
      text: Object.keys(active).length > 0 ? 'Replay all matching the filter' : 'Replay all in this queue',
      on: { click: () => (confirmAll.hidden = false) },
    });
    const yes = h('button', {
      type: 'button',
      class: 'danger',
      text: 'Yes, replay them',
      on: {
        click: () =>
          act(yes, async () => {
            // The call replays one batch; a larger replay goes on in the background and is followed here.
            const { replayed, more, runId } = await api('POST', `v1/admin/dead-letters/${seg(queue)}/replay`, active);
            confirmAll.hidden = true;
            if (!runId) {
              say(more ? `Replayed ${replayed}; more may be left: replay again.` : `Replayed ${replayed}.`);
              return route();
            }
            say(`Replayed ${replayed} so far; the rest goes on in the background (a batch a minute)…`);
            await route();
            for (let run = { replayed, done: false }; !run.done; ) {
              await new Promise((resolve) => setTimeout(resolve, 5_000));
              run = await api('GET', `v1/admin/replays/${seg(runId)}`);
              say(run.done ? `Replayed ${run.replayed}.` : `Replayed ${run.replayed} so far…`);
            }
          }),
      },
    });
    append(confirmAll, [
      h('span', { text: 'Replay every dead letter that matches?' }),
      yes,
      h('button', { type: 'button', text: 'Cancel', on: { click: () => (confirmAll.hidden = true) } }),
    ]);
    append(bulk, [replaySelected, replayAll, confirmAll]);
  }

  const load = async (after) => {
    try {
      const page = await api('GET', `v1/admin/dead-letters/${seg(queue)}${q({ ...active, max: PAGE_SIZE, after })}`);
      if (!after && page.items.length === 0) list.append(h('p', { class: 'note', text: 'No dead letters match.' }));
      for (const item of page.items) list.append(deadLetterCard(queue, item, selected));
      more.replaceChildren();
      if (page.next) {
        const button = h('button', { type: 'button', text: 'Load more', on: { click: () => load(page.next) } });
        more.append(button);
      }
    } catch (error) {
      list.append(failed(error));
    }
  };
  render(h('h2', { text: `Dead letters: ${queue}` }), form, bulk, list, more);
  await load();
}

function deadLetterCard(queue, item, selected) {
  const card = h('article', { class: 'card dead-letter', id: `dl-${item.id}` });
  const detailsId = `details-${item.id}`;
  const details = h(
    'div',
    { id: detailsId, hidden: true },
    props([
      ['Message id', item.id],
      ['Job id', item.jobId],
      ['Reason', item.reason],
      ['Description', item.description],
      ['Attempts', item.attempts],
      ['First failed', when(item.firstFailedAt)],
      ['Last failed', when(item.lastFailedAt)],
      ['Errors left out', item.errorsOmitted || undefined],
    ]),
    h('h4', { text: 'Attempts' }),
    h(
      'ol',
      { class: 'timeline' },
      item.errors.map((error) =>
        h('li', {}, h('strong', { text: `#${error.attempt} ${error.kind} ${error.code}` }), ` ${when(error.at)}`, h('pre', { text: error.message })),
      ),
    ),
    h('h4', { text: 'Body' }),
    h('pre', { class: 'body', text: JSON.stringify(item.body, null, 2) }),
  );
  const toggle = h('button', {
    type: 'button',
    'aria-expanded': 'false',
    'aria-controls': detailsId,
    text: 'Details',
    on: {
      click: () => {
        details.hidden = !details.hidden;
        toggle.setAttribute('aria-expanded', String(!details.hidden));
      },
    },
  });
  const head = h(
    'div',
    {},
    h('strong', { class: 'type', text: item.type ?? '(not a job)' }),
    ' ',
    h('span', { class: 'subject', text: item.subject ?? '' }),
    h('p', {}, badge(item.reason ?? 'no reason', 'bad'), ` ${item.attempts} attempt(s), last ${when(item.lastFailedAt)}`),
    h('p', { class: 'summary', text: item.errors.at(-1)?.message ?? item.description ?? '' }),
  );
  const actions = h('div', { class: 'actions' }, toggle);
  if (canChange()) {
    const check = h('input', {
      type: 'checkbox',
      on: { change: () => (check.checked ? selected.add(item.id) : selected.delete(item.id)) },
    });
    const label = h('label', { class: 'check' }, check, 'Select');
    const replay = h('button', {
      type: 'button',
      class: 'primary replay',
      text: 'Replay',
      on: {
        click: () =>
          act(
            replay,
            async () => {
              await api('POST', `v1/admin/dead-letters/${seg(queue)}/${seg(item.id)}/replay`);
              selected.delete(item.id);
              card.remove();
            },
            `Replayed ${item.type ?? item.id}.`,
          ),
      },
    });
    const reason = input('reason', { required: true, minlength: '3', maxlength: '1000' });
    const confirm = h('button', { type: 'submit', class: 'danger', text: 'Discard' });
    const discardForm = h(
      'form',
      {
        class: 'fields',
        hidden: true,
        on: {
          submit: async (event) => {
            event.preventDefault();
            if (reason.value.trim().length < 3) return say('Say why (at least 3 characters).', true);
            await act(
              confirm,
              async () => {
                await api('DELETE', `v1/admin/dead-letters/${seg(queue)}/${seg(item.id)}`, { reason: reason.value.trim() });
                selected.delete(item.id);
                card.remove();
              },
              'Discarded; the reason is in the audit trail.',
            );
          },
        },
      },
      field('Why discard it? (kept in the audit trail)', reason),
      confirm,
    );
    const discard = h('button', {
      type: 'button',
      class: 'danger',
      text: 'Discard…',
      on: {
        click: () => {
          discardForm.hidden = false;
          reason.focus();
        },
      },
    });
    append(actions, [label, replay, discard]);
    return append(card, [head, actions, discardForm, details]);
  }
  return append(card, [head, actions, details]);
}

// ---- audit

async function auditView(_args, params) {
  const names = await queueNames();
  const queueSelect = select('queue', [['', 'every queue'], ...names.map((name) => [name, name])], params.get('queue') ?? '');
  const form = h(
    'form',
    {
      class: 'fields',
      on: {
        submit: (event) => {
          event.preventDefault();
          go(`#/audit${q({ queue: queueSelect.value })}`);
        },
      },
    },
    field('Queue', queueSelect),
    h('button', { type: 'submit', class: 'primary', text: 'Show' }),
  );
  let body;
  try {
    const { items } = await api('GET', `v1/admin/audit${q({ queue: params.get('queue'), limit: 100 })}`);
    body =
      items.length === 0
        ? h('p', { class: 'note', text: 'Nothing was replayed or discarded yet.' })
        : h(
            'ol',
            { class: 'timeline', id: 'audit' },
            items.map((entry) =>
              h(
                'li',
                {},
                h('strong', { text: `${entry.action} · ${entry.queue}` }),
                ` ${when(entry.at)} by `,
                h('span', { text: entry.actor }),
                props([
                  ['Reason', entry.reason],
                  ['Type', entry.type],
                  ['Subject', entry.subject],
                  ['Message id', entry.messageId],
                  ['Job id', entry.jobId],
                ]),
              ),
            ),
          );
  } catch (error) {
    body = failed(error);
  }
  render(h('h2', { text: 'Audit trail' }), form, body);
}

// ---- lookup

const LOOKUPS = [
  ['booking', 'Booking by id'],
  ['order', 'Order by id'],
  ['by-source', 'Order by channel and external id'],
  ['customer', 'Customer by id'],
];

async function lookupView(args) {
  const [kind = 'booking', first = '', second = ''] = args;
  const kindSelect = select('kind', LOOKUPS, kind);
  const idInput = input('id', { value: first });
  const externalInput = input('externalId', { value: second });
  const externalField = field('External id (for channel look-ups)', externalInput);
  const form = searchForm(
    () => {
      const parts = [kindSelect.value, idInput.value.trim(), ...(kindSelect.value === 'by-source' ? [externalInput.value.trim()] : [])];
      go(`#/lookup/${parts.map(seg).join('/')}`);
    },
    field('What', kindSelect),
    field('Id (or channel)', idInput),
    externalField,
    h('button', { type: 'submit', class: 'primary', text: 'Look up' }),
  );
  const result = h('div', { id: 'lookup' });
  render(h('h2', { text: 'Lookup' }), form, result);
  if (!first) return;
  try {
    append(result, await lookup(kind, first, second));
  } catch (error) {
    result.append(failed(error));
  }
}

function timeline(items) {
  if (!items || items.length === 0) return h('p', { class: 'note', text: 'No history.' });
  return h(
    'ol',
    { class: 'timeline' },
    items.map((row) =>
      h(
        'li',
        {},
        h('strong', { text: [row.machine ?? row.kind, row.subject].filter(Boolean).join(' ') || 'status' }),
        ` ${row.from ?? '∅'} → ${row.to} · ${when(row.at)} · `,
        h('span', { text: row.cause ?? '' }),
        row.reason ? h('p', { text: row.reason }) : null,
      ),
    ),
  );
}

async function orderParts(order) {
  const [history, payments, callbacks] = await Promise.allSettled([
    api('GET', `v1/orders/${seg(order.id)}/history`),
    api('GET', `v1/payments/order/${seg(order.id)}`),
    api('GET', `v1/admin/callbacks${q({ subject: order.id, limit: 50 })}`),
  ]);
  return [
    h('h3', { text: `Order ${order.id}` }),
    props([
      ['Status', order.status],
      ['Payment', order.paymentStatus],
      ['Channel', `${order.source} / ${order.externalId}`],
      ['Total', `${order.totalAmount} ${order.currency} (paid ${order.paidAmount}, refunded ${order.refundedAmount})`],
      ['Customer', order.customerId ? h('a', { href: `#/lookup/customer/${seg(order.customerId)}`, text: order.customerId }) : null],
      ['Updated', when(order.updatedAt)],
    ]),
    h('h3', { text: 'Timeline' }),
    history.status === 'fulfilled' ? timeline(history.value.items) : failed(history.reason),
    h('h3', { text: 'Payments' }),
    payments.status === 'fulfilled'
      ? payments.value.items.length === 0
        ? h('p', { class: 'note', text: 'No payments.' })
        : payments.value.items.map((payment) =>
            h(
              'div',
              { class: 'card' },
              props([
                ['Payment', payment.id],
                ['Provider', `${payment.provider} ${payment.providerRef ?? ''}`],
                ['Status', payment.status],
                ['Amount', `${payment.amount} ${payment.currency} (refunded ${payment.refundedAmount ?? 0})`],
                ['Failure', payment.failureReason],
              ]),
            ),
          )
      : failed(payments.reason),
    h('h3', { text: 'Channel callbacks' }),
    callbacks.status === 'fulfilled' ? callbackList(callbacks.value.items) : failed(callbacks.reason),
    h('h3', { text: 'Everything the API shows' }),
    h('pre', { text: JSON.stringify(order, null, 2) }),
  ];
}

async function lookup(kind, id, externalId) {
  if (kind === 'booking') {
    const [booking, history] = await Promise.all([api('GET', `v1/bookings/${seg(id)}`), api('GET', `v1/bookings/${seg(id)}/history`)]);
    return [
      h('h3', { text: `Booking ${booking.id}` }),
      props([
        ['Status', booking.status],
        ['Payment', booking.payment?.status],
        ['Price', `${booking.priceCents} ${booking.currency}`],
        [
          'Findings',
          booking.findings?.length
            ? booking.findings.map((finding) => `${finding.description}: ${finding.status} (${finding.priceCents})`).join('; ')
            : undefined,
        ],
      ]),
      h('h3', { text: 'Timeline (status, trips, findings)' }),
      timeline(history.items),
      h('h3', { text: 'Everything the API shows (Odoo ids, trips, e-mails)' }),
      h('pre', { text: JSON.stringify(booking, null, 2) }),
    ];
  }
  if (kind === 'order') return orderParts(await api('GET', `v1/orders/${seg(id)}`));
  if (kind === 'by-source') return orderParts(await api('GET', `v1/orders/by-source/${seg(id)}/${seg(externalId)}`));
  if (kind === 'customer') {
    const customer = await api('GET', `v1/customers/${seg(id)}`);
    return [
      h('h3', { text: `Customer ${customer.name}` }),
      props([
        ['Id', customer.id],
        ['E-mail', customer.email],
        ['Phone', customer.phone],
      ]),
      h('h3', { text: 'Orders' }),
      h(
        'ul',
        { class: 'plain' },
        (customer.orders ?? []).map((order) =>
          h('li', {}, h('a', { href: `#/lookup/order/${seg(order.id)}`, text: order.id }), ` ${order.status} · ${order.totalAmount} ${order.currency}`),
        ),
      ),
    ];
  }
  return [h('p', { class: 'note', text: 'Choose what to look up.' })];
}

// ---- channel callbacks

function callbackList(items) {
  if (!items || items.length === 0) return h('p', { class: 'note', text: 'No callbacks.' });
  return h(
    'div',
    { class: 'callbacks' },
    items.map((delivery) => {
      const card = h(
        'article',
        { class: 'card' },
        h('strong', { text: `${delivery.type} → ${delivery.channel}` }),
        ' ',
        badge(delivery.status, delivery.status === 'delivered' ? 'ok' : delivery.status === 'failed' ? 'bad' : 'warn'),
        props([
          ['Delivery', delivery.id],
          ['Subject', delivery.subject],
          ['Created', when(delivery.createdAt)],
          ['Attempts', delivery.attemptCount],
        ]),
        h(
          'ol',
          { class: 'timeline' },
          (delivery.attempts ?? []).map((attempt) =>
            h(
              'li',
              {},
              `${when(attempt.at)} · ${attempt.statusCode ?? 'no answer'} · ${Math.round(attempt.durationMs)} ms`,
              attempt.error ? h('pre', { text: attempt.error }) : null,
              attempt.response ? h('pre', { text: attempt.response }) : null,
            ),
          ),
        ),
      );
      if (canChange()) {
        const resend = h('button', {
          type: 'button',
          text: 'Resend',
          on: { click: () => act(resend, () => api('POST', `v1/admin/callbacks/${seg(delivery.id)}/resend`), 'Queued again.') },
        });
        card.append(h('div', { class: 'actions' }, resend));
      }
      return card;
    }),
  );
}

async function callbacksView(_args, params) {
  const inputs = {
    source: input('source', { value: params.get('source') ?? '' }),
    status: select(
      'status',
      [
        ['', 'any'],
        ['pending', 'pending'],
        ['retrying', 'retrying'],
        ['delivered', 'delivered'],
        ['failed', 'failed'],
      ],
      params.get('status') ?? '',
    ),
    subject: input('subject', { value: params.get('subject') ?? '' }),
  };
  const form = searchForm(
    () => {
      go(`#/callbacks${q(Object.fromEntries(Object.entries(inputs).map(([name, element]) => [name, element.value.trim()])))}`);
    },
    field('Channel', inputs.source),
    field('Status', inputs.status),
    field('Order (subject)', inputs.subject),
    h('button', { type: 'submit', class: 'primary', text: 'Show' }),
  );
  let body;
  try {
    const filter = Object.fromEntries([...params.entries()].filter(([name]) => ['source', 'status', 'subject'].includes(name)));
    body = callbackList((await api('GET', `v1/admin/callbacks${q({ ...filter, limit: 100 })}`)).items);
  } catch (error) {
    body = failed(error);
  }
  render(h('h2', { text: 'Channel callbacks' }), form, body);
}

// The skip link moves the focus; following its `#main` would be read as a view.
document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  main().focus();
});
window.addEventListener('hashchange', () => {
  route().then(() => main().focus());
});
start();
