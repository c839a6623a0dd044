// infra/ checked against the code without Azure: the app settings the Bicep sets against the
// configuration the app reads, the queues, the identity's roles, keys (none: identity-based
// connections only), CORS, and what the function table registers (trigger connections, timer schedules). Each rule is also shown failing on a copy of the
// templates with one mismatch planted.
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { concerns } from '../../functions/config';
import { durationMs, everySchedule } from '../../shared/kernel/schedule';
import { QUEUE_NAMES } from '../../shared/platform/queues';
import { callbackVariable } from '../../slices/orders/config';
import { AZURE_ENV, registerAzureApp } from '../support/azure-app';
import {
  type InfraTexts,
  moduleBody,
  objectKeys,
  property,
  readInfra,
  resourceBody,
  resourceLoop,
  resourceTypes,
  stripComments,
  varBody,
  varItems,
  varKeys,
  varStrings,
} from '../support/bicep';

// ---- What the app reads and registers, collected from the code.

/** The code's side of the comparison. */
interface AppFacts {
  /** Every variable a configuration concern reads (the keys of its zod object). */
  reads: ReadonlySet<string>;
  /** The variables that must be set in Azure: no default in their schema, plus what Azure needs besides. */
  required: ReadonlySet<string>;
  /** The app's connections (`SERVICEBUS_CONNECTION`, …) and the setting naming their endpoint in the identity form. */
  connections: ReadonlyArray<{ name: string; endpoint: string }>;
  /** The name of a channel's setting (`<CHANNEL>_CALLBACK_URL`). */
  channelVariable: (channel: string, what: 'URL' | 'SECRET') => string;
  queues: readonly string[];
  /** Service Bus triggers as registered with the Functions host. */
  triggers: ReadonlyArray<{ function: string; queue: string; connection: string }>;
  /** Timers as registered, with the settings their schedules were built from. */
  timers: ReadonlyArray<{ function: string; schedule: string }>;
}

/** The zod object a concern parses the environment with (concerns are objects, maybe refined and piped into a transform). */
function objectOf(schema: unknown): z.ZodObject | undefined {
  if (schema instanceof z.ZodObject) return schema;
  if (schema instanceof z.ZodPipe) return objectOf(schema.in) ?? objectOf(schema.out);
  return undefined;
}

/** Variable names from the configuration concerns' shapes (functions/config.ts). */
function configurationNames(): { reads: Set<string>; required: Set<string> } {
  const reads = new Set<string>();
  const required = new Set<string>();
  for (const [concern, schema] of Object.entries(concerns)) {
    const object = objectOf(schema);
    if (!object) throw new Error(`concern ${concern}: no z.object to read its variable names from`);
    for (const [name, field] of Object.entries(object.shape)) {
      reads.add(name);
      if (!(field as z.ZodType).safeParse(undefined).success) required.add(name);
    }
  }
  return { reads, required };
}

/**
 * The app's connections, from the identity settings it reads (`<NAME>__fullyQualifiedNamespace`,
 * `<NAME>__tableServiceUri`, as the Functions host names them): each is a connection string or that form.
 */
function connectionsOf(reads: ReadonlySet<string>): Array<{ name: string; endpoint: string }> {
  return [...reads].flatMap((read) => {
    const match = /^(\w+?)__(fullyQualifiedNamespace|tableServiceUri)$/.exec(read);
    return match ? [{ name: match[1] as string, endpoint: read }] : [];
  });
}

/**
 * Needed in Azure though the schemas have a default: without a connection string the app sends no
 * telemetry, and every log alert (infra/modules/alerts.bicep) reads what it sends.
 */
const AZURE_REQUIRED = ['APPLICATIONINSIGHTS_CONNECTION_STRING'];

// ---- What the Bicep sets, read from the templates.

/** The app settings the templates set. `always` are set on every deployment; `optional` only when their parameter is non-empty. */
interface InfraSettings {
  always: string[];
  optional: string[];
  /** Per-channel settings, named by a Bicep expression of the channel name. */
  channelNaming: Partial<Record<'URL' | 'SECRET', (channel: string) => string>>;
}

/** `'${toUpper(replace(entry.key, '-', '_'))}_CALLBACK_URL'` as a function of the channel name, or undefined when the template names them another way. */
function channelNaming(text: string, what: 'URL' | 'SECRET'): ((channel: string) => string) | undefined {
  const match = new RegExp(`'\\$\\{toUpper\\(replace\\(entry\\.key, '(.)', '(.)'\\)\\)\\}(_CALLBACK_${what})'`).exec(stripComments(text));
  if (!match) return undefined;
  const [, from, to, suffix] = match as unknown as [string, string, string, string];
  return (channel) => `${channel.replaceAll(from, to).toUpperCase()}${suffix}`;
}

const squash = (text: string) => stripComments(text).replace(/\s+/g, ' ');

function infraSettings(texts: InfraTexts): InfraSettings {
  const secretSettings = [...varBody(texts.keyVault, 'optionalSecrets').matchAll(/setting:\s*'([^']+)'/g)].map((match) => match[1] as string);
  return {
    always: varKeys(texts.functionApp, 'hostSettings'),
    optional: [...varKeys(texts.main, 'appPlainSettings'), ...secretSettings],
    channelNaming: { URL: channelNaming(texts.main, 'URL'), SECRET: channelNaming(texts.keyVault, 'SECRET') },
  };
}

/** Settings only the Functions host (or the platform) reads. */
const HOST_SETTING = [/^AzureWebJobsStorage(__\w+)?$/, /^FUNCTIONS_\w+$/, /^APPLICATIONINSIGHTS_\w+$/, /^WEBSITE_\w+$/];

/** Built-in role definition ids (the same in every tenant), and where the identity needs them. */
const ROLES = {
  storageBlobDataOwner: { id: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', name: 'Storage Blob Data Owner' },
  storageTableDataContributor: { id: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', name: 'Storage Table Data Contributor' },
  serviceBusDataReceiver: { id: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0', name: 'Azure Service Bus Data Receiver' },
  serviceBusDataSender: { id: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39', name: 'Azure Service Bus Data Sender' },
  keyVaultSecretsUser: { id: '4633458b-17de-408a-b874-0445c86b69e6', name: 'Key Vault Secrets User' },
  monitoringMetricsPublisher: { id: '3913510d-42f4-4e42-8a64-420c390055eb', name: 'Monitoring Metrics Publisher' },
} as const;
type Role = (typeof ROLES)[keyof typeof ROLES];

/** Each need: on which resource type, which roles (any one alternative, all roles of it), and why. */
const ROLE_NEEDS: ReadonlyArray<{ on: string; anyOf: Role[][]; why: string }> = [
  {
    on: 'Microsoft.Storage/storageAccounts',
    anyOf: [[ROLES.storageBlobDataOwner]],
    why: 'the host storage (AzureWebJobsStorage__*) and the deployment container',
  },
  { on: 'Microsoft.Storage/storageAccounts', anyOf: [[ROLES.storageTableDataContributor]], why: "the app's tables" },
  {
    on: 'Microsoft.ServiceBus/namespaces',
    anyOf: [[ROLES.serviceBusDataReceiver, ROLES.serviceBusDataSender]],
    why: 'the queue triggers (receive, settle), the app (send, schedule retries) and the admin replay (receive from dead-letter sub-queues)',
  },
  { on: 'Microsoft.KeyVault/vaults', anyOf: [[ROLES.keyVaultSecretsUser]], why: 'the Key Vault references of the app settings' },
  {
    on: 'Microsoft.Insights/components',
    anyOf: [[ROLES.monitoringMetricsPublisher]],
    why: 'telemetry with Entra ID (APPLICATIONINSIGHTS_AUTHENTICATION_STRING)',
  },
];

/** Role definition ids assigned to the identity, by the type of the resource they are scoped to. */
function assignedRoles(text: string): Map<string, Set<string>> {
  const roleIds = new Map(
    objectKeys(varBody(text, 'roles')).map((key) => [key, new RegExp(`^\\s*${key}\\s*:\\s*'([^']+)'`, 'm').exec(varBody(text, 'roles'))?.[1] ?? '']),
  );
  const types = resourceTypes(text);
  const assigned = new Map<string, Set<string>>();
  for (const [symbol, type] of types) {
    if (type !== 'Microsoft.Authorization/roleAssignments') continue;
    const loop = resourceLoop(text, symbol);
    const body = resourceBody(text, symbol);
    const scope = property(body, 'scope');
    const target = scope ? types.get(scope) : undefined;
    if (!loop || !target) continue;
    // The principal must be the identity the module is given (main.bicep passes the app's identity).
    if (property(body, 'principalId') !== 'principalId') continue;
    const ids = varItems(text, loop.source).map((item) => roleIds.get(item.replace(/^roles\./, '')) ?? item);
    const set = assigned.get(target) ?? new Set<string>();
    for (const id of ids) set.add(id);
    assigned.set(target, set);
  }
  return assigned;
}

// ---- The rules.

/** Every mismatch between the templates and the app, as sentences; empty when they agree. */
function checkInfra(texts: InfraTexts, app: AppFacts): string[] {
  const problems: string[] = [];
  const settings = infraSettings(texts);
  const always = new Set(settings.always);
  const all = new Set([...settings.always, ...settings.optional]);
  const connections = new Set(app.triggers.map((trigger) => trigger.connection));

  // 1. Every setting the Bicep sets is read by the app or by the host.
  for (const name of all) {
    const forHost = HOST_SETTING.some((pattern) => pattern.test(name)) || [...connections].some((connection) => name.startsWith(`${connection}__`));
    if (!app.reads.has(name) && !forHost) problems.push(`the Bicep sets ${name}, which neither the app nor the Functions host reads`);
  }
  for (const what of ['URL', 'SECRET'] as const) {
    const naming = settings.channelNaming[what];
    const samples = ['woocommerce', 'b2b-eu', 'pos'];
    if (!naming) problems.push(`the Bicep does not name <CHANNEL>_CALLBACK_${what} as the app derives it (upper case, '-' -> '_')`);
    else if (samples.some((channel) => naming(channel) !== app.channelVariable(channel, what))) {
      problems.push(`the Bicep names a channel's ${what} setting ${naming('b2b-eu')}, the app reads ${app.channelVariable('b2b-eu', what)}`);
    }
  }

  // 2. Conversely, every setting the app needs in Azure is set on every deployment.
  for (const name of app.required) {
    if (!always.has(name)) problems.push(`the app needs ${name} in Azure, but the Bicep does not always set it`);
  }
  if (!always.has('AzureWebJobsStorage') && !always.has('AzureWebJobsStorage__accountName')) problems.push('the host storage (AzureWebJobsStorage) is not set');
  for (const connection of connections) {
    if (!always.has(connection) && !always.has(`${connection}__fullyQualifiedNamespace`)) {
      problems.push(`the queue triggers' connection ${connection} is set neither as ${connection} nor as ${connection}__fullyQualifiedNamespace`);
    }
  }
  // The settings reach the app: the three sources are merged into its app settings.
  const wiring: Array<[string, string, string]> = [
    [
      texts.functionApp,
      'properties: union(hostSettings, presentPlainSettings, keyVaultSettings)',
      'function-app.bicep merges host, plain and Key Vault settings',
    ],
    [texts.keyVault, 'output appSettings object = optionalSettings', 'key-vault.bicep outputs the secret settings'],
    [texts.main, 'keyVaultSettings: keyVault.outputs.appSettings', 'main.bicep hands the Key Vault settings to the Function App'],
    [texts.main, 'plainSettings: union(appPlainSettings, channelCallbackUrlSettings)', 'main.bicep hands the plain settings to the Function App'],
  ];
  for (const [text, expected, what] of wiring) if (!squash(text).includes(expected)) problems.push(`no longer true: ${what} (${expected})`);

  // 3. Every queue the code uses exists, with dead-lettering on; no other queue.
  const bicepQueues = varStrings(texts.serviceBus, 'queueNames');
  for (const queue of app.queues) if (!bicepQueues.includes(queue)) problems.push(`queue ${queue} (shared/platform/queues.ts) is not in service-bus.bicep`);
  for (const queue of bicepQueues) if (!app.queues.includes(queue)) problems.push(`service-bus.bicep creates queue ${queue}, which the code does not use`);
  const queueSymbol = [...resourceTypes(texts.serviceBus)].find(([, type]) => type === 'Microsoft.ServiceBus/namespaces/queues')?.[0];
  if (!queueSymbol || resourceLoop(texts.serviceBus, queueSymbol)?.source !== 'queueNames')
    problems.push('service-bus.bicep does not create one queue per entry of queueNames');
  else {
    const body = resourceBody(texts.serviceBus, queueSymbol);
    if (property(body, 'deadLetteringOnMessageExpiration') !== 'true') problems.push('the queues do not dead-letter expired messages');
    const maxDelivery = Number(property(body, 'maxDeliveryCount'));
    if (!(Number.isInteger(maxDelivery) && maxDelivery >= 1)) problems.push('the queues have no maxDeliveryCount (the broker dead-letters after it)');
  }
  for (const trigger of app.triggers) {
    if (!bicepQueues.includes(trigger.queue)) problems.push(`${trigger.function} listens on ${trigger.queue}, which service-bus.bicep does not create`);
  }

  // 4. Every role the identity needs, on the resource it needs it on, for the identity the app runs as.
  const assigned = assignedRoles(texts.roleAssignments);
  for (const need of ROLE_NEEDS) {
    const held = assigned.get(need.on) ?? new Set<string>();
    if (!need.anyOf.some((roles) => roles.every((role) => held.has(role.id)))) {
      problems.push(`the identity lacks ${need.anyOf.map((roles) => roles.map((role) => role.name).join(' + ')).join(' or ')} on ${need.on} (${need.why})`);
    }
  }
  const main = squash(texts.main);
  if (property(moduleBody(texts.main, 'roleAssignments'), 'principalId') !== 'identity.outputs.principalId')
    problems.push('the roles are not assigned to the identity module');
  if (property(moduleBody(texts.main, 'functionApp'), 'identityId') !== 'identity.outputs.id')
    problems.push('the Function App does not run as the identity module');
  const app_ = squash(texts.functionApp);
  if (!/userAssignedIdentities: \{ '\$\{identityId\}': \{\} \}/.test(app_) || !app_.includes('keyVaultReferenceIdentity: identityId')) {
    problems.push('the Function App does not use the identity for itself and its Key Vault references');
  }

  // 5. No keys: every connection of the app and the host's storage is identity-based, with the
  // identity the app runs as, and the resources refuse keys altogether.
  const hostSettings = varBody(texts.functionApp, 'hostSettings');
  const identityForm = [...app.connections, { name: 'AzureWebJobsStorage', endpoint: 'AzureWebJobsStorage__accountName' }];
  for (const { name, endpoint } of identityForm) {
    if (all.has(name)) problems.push(`the Bicep sets ${name} (a connection string with a key); set ${endpoint} with the identity instead`);
    if (!always.has(endpoint)) problems.push(`the Bicep does not set ${endpoint} (${name} in its identity form)`);
    if (property(hostSettings, `${name}__credential`) !== "'managedidentity'") problems.push(`${name}__credential is not managedidentity`);
    if (property(hostSettings, `${name}__clientId`) !== 'identityClientId')
      problems.push(`${name}__clientId is not the client id of the identity the app runs as`);
  }
  for (const [file, text] of Object.entries(texts)) {
    if (/\blist(Keys|ConnectionStrings)\(/.test(stripComments(text))) problems.push(`${file} reads keys (listKeys): nothing may need them`);
    if ([...resourceTypes(text).values()].some((type) => type.endsWith('/AuthorizationRules'))) problems.push(`${file} creates a SAS authorization rule`);
  }
  if (property(resourceBody(texts.storage, 'storage'), 'allowSharedKeyAccess') !== 'false') problems.push('the storage account allows shared-key access');
  if (property(resourceBody(texts.serviceBus, 'namespace'), 'disableLocalAuth') !== 'true') problems.push('the Service Bus namespace allows SAS (local) auth');
  const appModule = moduleBody(texts.main, 'functionApp');
  const wired: Array<[string, string]> = [
    ['identityClientId', 'identity.outputs.clientId'],
    ['serviceBusFullyQualifiedNamespace', 'serviceBus.outputs.fullyQualifiedNamespace'],
    ['tableServiceUri', 'storage.outputs.tableEndpoint'],
  ];
  for (const [param, value] of wired) {
    if (property(appModule, param) !== value) problems.push(`main.bicep does not hand ${value} to the Function App as ${param}`);
  }

  // 6. CORS: the platform's list is the corsOrigins parameter, the same value as the app's CORS_ORIGINS.
  if (!/cors: \{ allowedOrigins: corsAllowedOrigins\b/.test(app_)) problems.push("the Function App's CORS does not take corsAllowedOrigins");
  if (!/corsAllowedOrigins: [^\n]*split\(corsOrigins, ','\)/.test(main))
    problems.push('main.bicep does not hand corsOrigins to the Function App as its CORS list');
  if (property(varBody(texts.main, 'appPlainSettings'), 'CORS_ORIGINS') !== 'corsOrigins') problems.push('CORS_ORIGINS is not the corsOrigins parameter');

  // 7. Timers: NCRONTAB with seconds as the Functions host takes it, or a %SETTING% the Bicep sets.
  for (const timer of app.timers) {
    const setting = /^%(\w+)%$/.exec(timer.schedule)?.[1];
    if (setting) {
      if (!all.has(setting)) problems.push(`timer ${timer.function} reads its schedule from ${setting}, which the Bicep does not set`);
    } else if (!/^[\d*/,A-Za-z-]+( [\d*/,A-Za-z-]+){5}$/.test(timer.schedule.trim())) {
      problems.push(`timer ${timer.function} has schedule "${timer.schedule}", not six NCRONTAB fields`);
    }
  }
  return problems;
}

// ---- The facts, once.

let facts: AppFacts;
let texts: InfraTexts;

beforeAll(async () => {
  texts = readInfra();
  const names = configurationNames();
  const registered = await registerAzureApp();
  facts = {
    reads: names.reads,
    required: new Set([...names.required, ...AZURE_REQUIRED]),
    connections: connectionsOf(names.reads),
    channelVariable: callbackVariable,
    queues: QUEUE_NAMES,
    triggers: registered.triggers,
    timers: registered.timers,
  };
});

describe('infra/ against the code', () => {
  it('collects the facts it compares (so the rules cannot pass empty)', () => {
    expect(facts.reads).toContain('ODOO_URL');
    expect(facts.reads).toContain('CORS_ORIGINS');
    expect([...facts.required]).toContain('APPLICATIONINSIGHTS_CONNECTION_STRING');
    expect(facts.connections).toEqual([
      { name: 'SERVICEBUS_CONNECTION', endpoint: 'SERVICEBUS_CONNECTION__fullyQualifiedNamespace' },
      { name: 'TABLES_CONNECTION', endpoint: 'TABLES_CONNECTION__tableServiceUri' },
    ]);
    expect(facts.triggers.map((trigger) => trigger.queue).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(facts.timers.map((timer) => timer.function)).toEqual(expect.arrayContaining(['outbox-relay', 'payments-reconcile']));
    const settings = infraSettings(texts);
    expect(settings.always).toEqual(
      expect.arrayContaining(['SERVICEBUS_CONNECTION__fullyQualifiedNamespace', 'TABLES_CONNECTION__tableServiceUri', 'AzureWebJobsStorage__accountName']),
    );
    expect(settings.optional).toEqual(expect.arrayContaining(['STRIPE_SECRET_KEY', 'ODOO_URL', 'CORS_ORIGINS']));
  });

  it('agree: settings, queues, roles, keys, CORS, trigger connections and timer schedules', () => {
    expect(checkInfra(texts, facts)).toEqual([]);
  });

  it('the queue triggers and the app connect through SERVICEBUS_CONNECTION, set only in its identity-based form', () => {
    expect(new Set(facts.triggers.map((trigger) => trigger.connection))).toEqual(new Set(['SERVICEBUS_CONNECTION']));
    const settings = infraSettings(texts);
    expect(settings.always).toEqual(expect.arrayContaining(['SERVICEBUS_CONNECTION__fullyQualifiedNamespace', 'SERVICEBUS_CONNECTION__clientId']));
    expect([...settings.always, ...settings.optional]).not.toEqual(expect.arrayContaining(['SERVICEBUS_CONNECTION']));
    expect([...settings.always, ...settings.optional]).not.toEqual(expect.arrayContaining(['TABLES_CONNECTION']));
  });

  it('no keys: shared keys and SAS off, no connection-string secrets, the identity settings with the identity the app runs as', () => {
    const hostSettings = varBody(texts.functionApp, 'hostSettings');
    for (const connection of ['SERVICEBUS_CONNECTION', 'TABLES_CONNECTION', 'AzureWebJobsStorage']) {
      expect(property(hostSettings, `${connection}__credential`)).toBe("'managedidentity'");
      expect(property(hostSettings, `${connection}__clientId`)).toBe('identityClientId');
    }
    expect(property(hostSettings, 'TABLES_CONNECTION__tableServiceUri')).toBe('tableServiceUri');
    expect(property(hostSettings, 'SERVICEBUS_CONNECTION__fullyQualifiedNamespace')).toBe('serviceBusFullyQualifiedNamespace');
    expect(property(resourceBody(texts.storage, 'storage'), 'allowSharedKeyAccess')).toBe('false');
    expect(property(resourceBody(texts.serviceBus, 'namespace'), 'disableLocalAuth')).toBe('true');
    for (const text of Object.values(texts)) expect(stripComments(text)).not.toMatch(/listKeys\(|connectionString\(|AccountKey=/);
    expect(varBody(texts.keyVault, 'optionalSecrets')).not.toMatch(/CONNECTION/);
  });

  it('the payments-reconcile timer follows PAYMENT_RECONCILE_EVERY, a setting the Bicep sets from its parameter', () => {
    expect(property(varBody(texts.main, 'appPlainSettings'), 'PAYMENT_RECONCILE_EVERY')).toBe('paymentReconcileEvery');
    const every = durationMs(AZURE_ENV.PAYMENT_RECONCILE_EVERY) as number;
    expect(facts.timers.find((timer) => timer.function === 'payments-reconcile')?.schedule).toBe(everySchedule(every));
  });
});

describe('a planted mismatch fails the check', () => {
  /** The problems after replacing `from` (which must occur) with `to` in one template. */
  const planted = (file: keyof InfraTexts, from: string | RegExp, to: string, app: Partial<AppFacts> = {}) => {
    const original = texts[file];
    const changed = original.replace(from, to);
    expect(changed, `the plant ${String(from)} did not change ${file}`).not.toBe(original);
    return checkInfra({ ...texts, [file]: changed }, { ...facts, ...app });
  };

  it('a setting the app does not read', () => {
    expect(planted('main', '  ODOO_URL: odooUrl\n', '  ODOO_URL: odooUrl\n  ODOO_URI: odooUrl\n')).toEqual([
      'the Bicep sets ODOO_URI, which neither the app nor the Functions host reads',
    ]);
  });

  it('a secret setting misspelt', () => {
    expect(planted('keyVault', "setting: 'SMTP_URL'", "setting: 'SMTP_URI'")).toEqual([
      'the Bicep sets SMTP_URI, which neither the app nor the Functions host reads',
    ]);
  });

  it('a required setting missing, and one the app newly requires', () => {
    expect(planted('functionApp', /^\s*TABLES_CONNECTION__tableServiceUri: .*$/m, '')).toEqual([
      'the Bicep does not set TABLES_CONNECTION__tableServiceUri (TABLES_CONNECTION in its identity form)',
    ]);
    expect(checkInfra(texts, { ...facts, required: new Set([...facts.required, 'NEW_REQUIRED']) })).toEqual([
      'the app needs NEW_REQUIRED in Azure, but the Bicep does not always set it',
    ]);
  });

  it('channel settings named another way', () => {
    expect(planted('main', "toUpper(replace(entry.key, '-', '_'))", "toLower(replace(entry.key, '-', '_'))")).toEqual([
      "the Bicep does not name <CHANNEL>_CALLBACK_URL as the app derives it (upper case, '-' -> '_')",
    ]);
  });

  it('a queue missing, one too many, dead-lettering off', () => {
    expect(planted('serviceBus', "  'callbacks'\n", '')).toEqual(
      expect.arrayContaining([
        'queue callbacks (shared/platform/queues.ts) is not in service-bus.bicep',
        'jobs-callbacks listens on callbacks, which service-bus.bicep does not create',
      ]),
    );
    expect(planted('serviceBus', "  'callbacks'\n", "  'callbacks'\n  'emails'\n")).toEqual([
      'service-bus.bicep creates queue emails, which the code does not use',
    ]);
    expect(planted('serviceBus', 'deadLetteringOnMessageExpiration: true', 'deadLetteringOnMessageExpiration: false')).toEqual([
      'the queues do not dead-letter expired messages',
    ]);
  });

  it('a role missing or assigned on the wrong resource', () => {
    expect(planted('roleAssignments', /var keyVaultRoles = \[[^\]]*\]/, 'var keyVaultRoles = []')).toEqual([
      'the identity lacks Key Vault Secrets User on Microsoft.KeyVault/vaults (the Key Vault references of the app settings)',
    ]);
    expect(planted('roleAssignments', 'roles.storageTableDataContributor\n]', 'roles.storageBlobDataContributor\n]')).toEqual([
      "the identity lacks Storage Table Data Contributor on Microsoft.Storage/storageAccounts (the app's tables)",
    ]);
    // Receiving from the dead-letter sub-queues (the admin replay) needs Receiver, not only Sender.
    expect(planted('roleAssignments', /\n\s*roles\.serviceBusDataReceiver\n/, '\n')).toEqual([
      expect.stringContaining('the identity lacks Azure Service Bus Data Receiver + Azure Service Bus Data Sender on Microsoft.ServiceBus/namespaces'),
    ]);
    expect(planted('roleAssignments', /(resource appInsightsAssignments[\s\S]*?)scope: appInsights/, '$1scope: vault')).toEqual([
      'the identity lacks Monitoring Metrics Publisher on Microsoft.Insights/components (telemetry with Entra ID (APPLICATIONINSIGHTS_AUTHENTICATION_STRING))',
    ]);
  });

  it('the roles assigned to another principal than the identity the app runs as', () => {
    expect(planted('main', 'principalId: identity.outputs.principalId', "principalId: '00000000-0000-0000-0000-000000000000'")).toEqual([
      'the roles are not assigned to the identity module',
    ]);
  });

  it('CORS not taken from corsOrigins', () => {
    expect(planted('functionApp', 'allowedOrigins: corsAllowedOrigins', "allowedOrigins: ['*']")).toEqual([
      "the Function App's CORS does not take corsAllowedOrigins",
    ]);
  });

  it('the trigger connection unset, or a timer on a setting nobody sets', () => {
    expect(planted('functionApp', /^\s*SERVICEBUS_CONNECTION__fullyQualifiedNamespace: .*$/m, '')).toEqual([
      "the queue triggers' connection SERVICEBUS_CONNECTION is set neither as SERVICEBUS_CONNECTION nor as SERVICEBUS_CONNECTION__fullyQualifiedNamespace",
      'the Bicep does not set SERVICEBUS_CONNECTION__fullyQualifiedNamespace (SERVICEBUS_CONNECTION in its identity form)',
    ]);
    const timers = [...facts.timers, { function: 'nightly', schedule: '%NIGHTLY_SCHEDULE%' }, { function: 'hourly', schedule: '0 * * * *' }];
    expect(checkInfra(texts, { ...facts, timers })).toEqual([
      'timer nightly reads its schedule from NIGHTLY_SCHEDULE, which the Bicep does not set',
      'timer hourly has schedule "0 * * * *", not six NCRONTAB fields',
    ]);
  });
});

describe('a key brought back fails the check', () => {
  const planted = (file: keyof InfraTexts, from: string | RegExp, to: string) => {
    const changed = texts[file].replace(from, to);
    expect(changed, `the plant ${String(from)} did not change ${file}`).not.toBe(texts[file]);
    return checkInfra({ ...texts, [file]: changed }, facts);
  };

  it('shared-key access or SAS auth on again', () => {
    expect(planted('storage', 'allowSharedKeyAccess: false', 'allowSharedKeyAccess: true')).toEqual(['the storage account allows shared-key access']);
    expect(planted('serviceBus', 'disableLocalAuth: true', 'disableLocalAuth: false')).toEqual(['the Service Bus namespace allows SAS (local) auth']);
  });

  it('a connection string built from listKeys into a Key Vault secret and an app setting', () => {
    const secret = `resource tablesConnection 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'tables-connection'
  properties: {
    value: 'AccountKey=\${storage.listKeys().keys[0].value}'
  }
}
`;
    expect(planted('keyVault', /^var optionalSettings/m, `${secret}var optionalSettings`)).toEqual(['keyVault reads keys (listKeys): nothing may need them']);
    expect(planted('keyVault', "setting: 'SMTP_URL'", "setting: 'TABLES_CONNECTION'")).toEqual([
      'the Bicep sets TABLES_CONNECTION (a connection string with a key); set TABLES_CONNECTION__tableServiceUri with the identity instead',
    ]);
  });

  it('a SAS rule, the host storage by key, another identity or no managed identity for a connection', () => {
    const rule = "resource appRule 'Microsoft.ServiceBus/namespaces/AuthorizationRules@2024-01-01' = {\n  parent: namespace\n  name: 'app'\n}\n";
    expect(planted('serviceBus', /^output id /m, `${rule}output id `)).toEqual(['serviceBus creates a SAS authorization rule']);
    expect(planted('functionApp', 'AzureWebJobsStorage__accountName: storageAccountName', 'AzureWebJobsStorage: storageAccountName')).toEqual([
      'the Bicep sets AzureWebJobsStorage (a connection string with a key); set AzureWebJobsStorage__accountName with the identity instead',
      'the Bicep does not set AzureWebJobsStorage__accountName (AzureWebJobsStorage in its identity form)',
    ]);
    expect(
      planted('functionApp', 'TABLES_CONNECTION__clientId: identityClientId', "TABLES_CONNECTION__clientId: '00000000-0000-0000-0000-000000000000'"),
    ).toEqual(['TABLES_CONNECTION__clientId is not the client id of the identity the app runs as']);
    expect(planted('functionApp', /^\s*SERVICEBUS_CONNECTION__credential: .*$/m, '')).toEqual(['SERVICEBUS_CONNECTION__credential is not managedidentity']);
    expect(planted('main', 'tableServiceUri: storage.outputs.tableEndpoint', 'tableServiceUri: storage.outputs.blobEndpoint')).toEqual([
      'main.bicep does not hand storage.outputs.tableEndpoint to the Function App as tableServiceUri',
    ]);
  });
});
