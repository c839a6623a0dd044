// infra/ checked against the code without Azure: the app settings the Bicep sets against the
// configuration the app reads, the queues, the identity's roles, CORS, and what the function table
// registers (trigger connections, timer schedules). Each rule is also shown failing on a copy of the
// templates with one mismatch planted.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { concerns } from '../../functions/config';
import { durationMs } from '../../shared/config';
import { QUEUE_NAMES } from '../../shared/platform/queues';
import { callbackVariable, everySchedule } from '../../slices/orders/config';
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
    always: [...varKeys(texts.functionApp, 'hostSettings'), ...varKeys(texts.keyVault, 'requiredSettings')],
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
  serviceBusDataOwner: { id: '090c5cfd-751d-490a-894a-3ce6f1109419', name: 'Azure Service Bus Data Owner' },
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
    anyOf: [[ROLES.serviceBusDataOwner], [ROLES.serviceBusDataReceiver, ROLES.serviceBusDataSender]],
    why: 'the queue triggers (receive, settle) and the app (send, schedule retries, replay dead letters)',
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
    [
      texts.keyVault,
      'output appSettings object = union(requiredSettings, optionalSettings)',
      'key-vault.bicep outputs the required and optional secret settings',
    ],
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

  // 5. CORS: the platform's list is the corsOrigins parameter, the same value as the app's CORS_ORIGINS.
  if (!/cors: \{ allowedOrigins: corsAllowedOrigins\b/.test(app_)) problems.push("the Function App's CORS does not take corsAllowedOrigins");
  if (!/corsAllowedOrigins: [^\n]*split\(corsOrigins, ','\)/.test(main))
    problems.push('main.bicep does not hand corsOrigins to the Function App as its CORS list');
  if (property(varBody(texts.main, 'appPlainSettings'), 'CORS_ORIGINS') !== 'corsOrigins') problems.push('CORS_ORIGINS is not the corsOrigins parameter');

  // 6. Timers: NCRONTAB with seconds as the Functions host takes it, or a %SETTING% the Bicep sets.
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
    expect([...facts.required].sort()).toEqual(expect.arrayContaining(['APPLICATIONINSIGHTS_CONNECTION_STRING', 'SERVICEBUS_CONNECTION', 'TABLES_CONNECTION']));
    expect(facts.triggers.map((trigger) => trigger.queue).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(facts.timers.map((timer) => timer.function)).toEqual(expect.arrayContaining(['outbox-relay', 'payments-reconcile']));
    const settings = infraSettings(texts);
    expect(settings.always).toEqual(expect.arrayContaining(['SERVICEBUS_CONNECTION', 'TABLES_CONNECTION', 'AzureWebJobsStorage__accountName']));
    expect(settings.optional).toEqual(expect.arrayContaining(['STRIPE_SECRET_KEY', 'ODOO_URL', 'CORS_ORIGINS']));
  });

  it('agree: settings, queues, roles, CORS, trigger connections and timer schedules', () => {
    expect(checkInfra(texts, facts)).toEqual([]);
  });

  it('the queue triggers connect through SERVICEBUS_CONNECTION, whose identity-based form the Bicep sets too', () => {
    expect(new Set(facts.triggers.map((trigger) => trigger.connection))).toEqual(new Set(['SERVICEBUS_CONNECTION']));
    expect(infraSettings(texts).always).toEqual(expect.arrayContaining(['SERVICEBUS_CONNECTION__fullyQualifiedNamespace', 'SERVICEBUS_CONNECTION__clientId']));
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
    expect(planted('keyVault', /^\s*TABLES_CONNECTION: .*$/m, '')).toEqual(['the app needs TABLES_CONNECTION in Azure, but the Bicep does not always set it']);
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
    expect(
      planted('roleAssignments', "serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'", "serviceBusDataOwner: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'"),
    ).toEqual([expect.stringContaining('the identity lacks Azure Service Bus Data Owner or Azure Service Bus Data Receiver + Azure Service Bus Data Sender')]);
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
    const withoutConnection = {
      ...texts,
      keyVault: texts.keyVault.replace(/^\s*SERVICEBUS_CONNECTION: .*$/m, ''),
      functionApp: texts.functionApp.replace(/^\s*SERVICEBUS_CONNECTION__fullyQualifiedNamespace: .*$/m, ''),
    };
    expect(checkInfra(withoutConnection, facts)).toEqual([
      'the app needs SERVICEBUS_CONNECTION in Azure, but the Bicep does not always set it',
      "the queue triggers' connection SERVICEBUS_CONNECTION is set neither as SERVICEBUS_CONNECTION nor as SERVICEBUS_CONNECTION__fullyQualifiedNamespace",
    ]);
    const timers = [...facts.timers, { function: 'nightly', schedule: '%NIGHTLY_SCHEDULE%' }, { function: 'hourly', schedule: '0 * * * *' }];
    expect(checkInfra(texts, { ...facts, timers })).toEqual([
      'timer nightly reads its schedule from NIGHTLY_SCHEDULE, which the Bicep does not set',
      'timer hourly has schedule "0 * * * *", not six NCRONTAB fields',
    ]);
  });
});
