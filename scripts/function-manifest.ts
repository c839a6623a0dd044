// Prints the function manifest (functions/manifest.ts) as JSON: the function table composed under
// local.settings.example.json, which configures every integration, so the manifest holds every
// function any configuration serves. `npm run build` runs it and writes the result beside the bundle.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compose } from '../functions/composition';
import { loadConfig } from '../functions/config';
import { manifestOf } from '../functions/manifest';

const settings = JSON.parse(readFileSync(join(__dirname, '..', 'local.settings.example.json'), 'utf8')) as { Values: Record<string, string> };
const composition = compose(loadConfig(settings.Values));
process.stdout.write(JSON.stringify(manifestOf(composition.functions)));
