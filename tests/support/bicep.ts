// Reads the Bicep in infra/ as text (there is no Bicep CLI offline): the few shapes the templates use
// for settings, lists, role assignments and alert queries. Each reader throws when its shape is not
// found, so a template rewritten out of these shapes fails the tests instead of passing them empty.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const infraDir = resolve(__dirname, '../../infra');

/** The templates the infra tests read, by role. */
export interface InfraTexts {
  main: string;
  functionApp: string;
  keyVault: string;
  serviceBus: string;
  storage: string;
  roleAssignments: string;
  alerts: string;
}

export function readInfra(): InfraTexts {
  const read = (path: string) => readFileSync(resolve(infraDir, path), 'utf8');
  return {
    main: read('main.bicep'),
    functionApp: read('modules/function-app.bicep'),
    keyVault: read('modules/key-vault.bicep'),
    serviceBus: read('modules/service-bus.bicep'),
    storage: read('modules/storage.bicep'),
    roleAssignments: read('modules/role-assignments.bicep'),
    alerts: read('modules/alerts.bicep'),
  };
}

/** Bicep without its `//` comments (none of ours sits inside a string) and `/* … *\/` blocks. */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'])\/\/.*$/gm, '$1');
}

/** The text between the bracket at `open` and its partner (strings and nesting respected). */
function balanced(text: string, open: number): string {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const stack: string[] = [];
  let quote = false;
  for (let i = open; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === "'") quote = false;
      continue;
    }
    if (ch === "'") quote = true;
    else if (pairs[ch]) stack.push(pairs[ch] as string);
    else if (ch === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return text.slice(open + 1, i);
    }
  }
  throw new Error(`unbalanced bracket at ${open}`);
}

/** The body of `var <name> = {…}` or `var <name> = […]`. */
export function varBody(text: string, name: string): string {
  const match = new RegExp(`^var ${name}\\s*=\\s*([[{])`, 'm').exec(stripComments(text));
  if (!match) throw new Error(`no "var ${name} = { … }" or "[ … ]" in the template`);
  const clean = stripComments(text);
  return balanced(clean, match.index + match[0].length - 1);
}

/** The keys of an object literal body (top level only). */
export function objectKeys(body: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of body.split('\n')) {
    if (depth === 0) {
      const key = /^\s*'?([A-Za-z_][A-Za-z0-9_.-]*)'?\s*:/.exec(line);
      if (key) keys.push(key[1] as string);
    }
    for (const ch of line.replace(/'[^']*'/g, "''")) {
      if (ch === '{' || ch === '[' || ch === '(') depth += 1;
      if (ch === '}' || ch === ']' || ch === ')') depth -= 1;
    }
  }
  return keys;
}

/** The keys of `var <name> = { … }`. */
export const varKeys = (text: string, name: string) => objectKeys(varBody(text, name));

/** The quoted strings of `var <name> = [ 'a' 'b' ]`. */
export function varStrings(text: string, name: string): string[] {
  return [...varBody(text, name).matchAll(/'([^']*)'/g)].map((match) => match[1] as string);
}

/** The items of `var <name> = [ roles.a roles.b ]`, as written. */
export function varItems(text: string, name: string): string[] {
  return varBody(text, name)
    .split(/\s+/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Every `resource <symbol> '<type>@<version>'` of a template: symbol → type. */
export function resourceTypes(text: string): Map<string, string> {
  return new Map([...stripComments(text).matchAll(/^resource (\w+) '([^'@]+)@[^']+'/gm)].map((match) => [match[1] as string, match[2] as string]));
}

/** The body of `resource <symbol> … = … {…}` (the loop's object for a `[for …: {…}]`). */
export function resourceBody(text: string, symbol: string): string {
  const clean = stripComments(text);
  const match = new RegExp(`^resource ${symbol} '[^']+'[^=]*=\\s*(\\[for [^:]+:\\s*)?(?:if \\([^)]*\\)\\s*)?\\{`, 'm').exec(clean);
  if (!match) throw new Error(`no resource ${symbol} in the template`);
  return balanced(clean, match.index + match[0].length - 1);
}

/** The body of `module <symbol> '<path>' = {…}`. */
export function moduleBody(text: string, symbol: string): string {
  const clean = stripComments(text);
  const match = new RegExp(`^module ${symbol} '[^']+'\\s*=\\s*\\{`, 'm').exec(clean);
  if (!match) throw new Error(`no module ${symbol} in the template`);
  return balanced(clean, match.index + match[0].length - 1);
}

/** The loop source of `resource <symbol> … = [for <item> in <source>: …]`. */
export function resourceLoop(text: string, symbol: string): { item: string; source: string } | undefined {
  const match = new RegExp(`^resource ${symbol} '[^']+'\\s*=\\s*\\[for (\\w+) in (\\w+)\\s*:`, 'm').exec(stripComments(text));
  return match ? { item: match[1] as string, source: match[2] as string } : undefined;
}

/** `name: value` inside a body (the first one, at any depth), or undefined. */
export function property(body: string, name: string): string | undefined {
  return new RegExp(`^\\s*${name}\\s*:\\s*(.+?)\\s*$`, 'm').exec(body)?.[1];
}

/** One log alert of alerts.bicep: its name and KQL. */
export interface AlertQuery {
  name: string;
  query: string;
}

/** The queries of the log alerts (`var logAlerts`: `{ name: '…'` … `query: '''…'''`), in order. */
export function alertQueries(alerts: string): AlertQuery[] {
  const start = alerts.indexOf('var logAlerts = [');
  if (start < 0) throw new Error('no "var logAlerts = [" in alerts.bicep');
  const found = [...alerts.slice(start).matchAll(/\{\s*name: '([^']+)'[\s\S]*?query: '''([\s\S]*?)'''/g)].map((match) => ({
    name: match[1] as string,
    query: (match[2] as string).trim(),
  }));
  if (found.length === 0) throw new Error("no query: '''…''' in alerts.bicep");
  return found;
}
