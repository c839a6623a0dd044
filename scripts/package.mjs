// `npm run package [-- --out-dir <dir>]`: the deploy package, exactly what `azd deploy` uploads
// (azure.yaml: the prepackage hook runs this, `dist: dist/package` names the folder azd zips, and
// `remoteBuild: false` deploys it as it is). Writes <dir>/package/ and <dir>/package.zip (default dir: dist):
//   host.json
//   package.json        main → the bundle; dependencies: the runtime dependencies only
//   package-lock.json   package-lock.json cut down to what node_modules holds
//   dist/index.js       the entry bundle (no source map: nothing loads it at run time)
//   dist/app.js         the app the entry requires on first use (build.mjs APP_FILE)
//   dist/function-manifest.json  every function's trigger, which the bundle registers from (build.mjs)
//   dist/sdk/*.js       the SDKs the bundle loads on first use, one bundle each (build.mjs LAZY_SDKS)
//   dist/console/       the operations console: page, script, style sheet, icon (build.mjs CONSOLE_FILES)
//   node_modules/       the runtime dependencies (build.mjs RUNTIME_DEPENDENCIES) and their production
//                       dependencies, copied from ./node_modules where package-lock.json places them
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { APP_FILE, bundle, CONSOLE_FILES, HOST_PROVIDED, LAZY_SDK_FILES, MANIFEST_FILE, ROOT, RUNTIME_DEPENDENCIES } from './build.mjs';

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

function fail(message) {
  throw new Error(`npm run package: ${message}`);
}

/** The lockfile key of `name` as Node resolves it from the package at `from` (nearest node_modules first). */
function locate(packages, from, name) {
  for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('node_modules/') - 1))) {
    const key = at === '' ? `node_modules/${name}` : `${at}/node_modules/${name}`;
    if (packages[key]) return key;
    if (at === '') return undefined;
  }
}

/** Every lockfile entry the runtime dependencies need, by location (`node_modules/a/node_modules/b`), sorted. */
export function productionTree(lock, roots) {
  const packages = lock.packages ?? {};
  const found = new Map();
  const queue = roots.map((name) => locate(packages, '', name) ?? fail(`${name} is not in package-lock.json: run npm install`));
  while (queue.length > 0) {
    const at = queue.pop();
    if (found.has(at)) continue;
    const entry = packages[at];
    if (entry.link) fail(`${at} is a link (workspace or file: dependency); a deploy package cannot carry it`);
    if (entry.dev) fail(`${at} is marked dev in package-lock.json, yet a runtime dependency needs it`);
    found.set(at, entry);
    const optional = new Set([
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.entries(entry.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional)
        .map(([name]) => name),
    ]);
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const dependency = locate(packages, at, name);
      if (dependency) queue.push(dependency);
      else if (!optional.has(name)) fail(`${at} needs ${name}, which package-lock.json does not hold: run npm install`);
    }
  }
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Files under `dir` (relative, forward slashes), leaving out the folders `skip` names (relative too). */
function filesOf(dir, skip = new Set(), prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return skip.has(path) ? [] : filesOf(dir, skip, path);
    if (entry.isFile()) return [path];
    // npm installs no symbolic links inside a package (only in .bin, which is never carried).
    return fail(`${join(dir, path)} is neither a file nor a folder`);
  });
}

/**
 * What goes into the package, as `{ path, from? , content? }` (path inside the package; copied from
 * `from` or written from `content`), and the package's node_modules locations.
 */
function plan(target) {
  const manifest = readJson(join(ROOT, 'package.json'));
  const lock = readJson(join(ROOT, 'package-lock.json'));
  for (const name of RUNTIME_DEPENDENCIES) if (!manifest.dependencies?.[name]) fail(`${name} must be in package.json "dependencies"`);
  for (const name of HOST_PROVIDED) if (existsSync(join(ROOT, 'node_modules', name))) fail(`${name} is the Functions host's; remove it from node_modules`);
  if (!(lock.lockfileVersion >= 2)) fail('package-lock.json must be lockfileVersion 2 or later (npm 7+)');

  const files = [{ path: 'host.json', from: join(ROOT, 'host.json') }];
  const carried = new Map();
  for (const [at, entry] of productionTree(lock, RUNTIME_DEPENDENCIES)) {
    const source = join(ROOT, at);
    if (!existsSync(join(source, 'package.json'))) {
      // npm leaves out optional dependencies that do not fit this platform; the lockfile still lists them.
      if (entry.optional || entry.devOptional) continue;
      fail(`${at} is missing from node_modules: run npm ci`);
    }
    const installed = readJson(join(source, 'package.json')).version;
    if (installed !== entry.version) fail(`${at} is ${installed} in node_modules but ${entry.version} in package-lock.json: run npm ci`);
    // A nested node_modules holds other entries of the tree (carried at their own location) or packages not needed.
    for (const path of filesOf(source, new Set(['node_modules']))) files.push({ path: `${at}/${path}`, from: join(source, path) });
    const { dev, devOptional, ...rest } = entry;
    carried.set(at, devOptional ? { ...rest, optional: true } : rest);
  }

  const dependencies = Object.fromEntries(RUNTIME_DEPENDENCIES.map((name) => [name, manifest.dependencies[name]]));
  const deployManifest = {
    name: manifest.name,
    version: manifest.version,
    private: true,
    description: manifest.description,
    main: manifest.main,
    engines: manifest.engines,
    dependencies,
    // The same resolutions the tree was installed with (npm checks the tree against them).
    ...(manifest.overrides ? { overrides: manifest.overrides } : {}),
  };
  const deployLock = {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: manifest.name, version: manifest.version, dependencies, engines: manifest.engines }, ...Object.fromEntries(carried) },
  };
  files.push(
    { path: 'package.json', content: `${JSON.stringify(deployManifest, null, 2)}\n` },
    { path: 'package-lock.json', content: `${JSON.stringify(deployLock, null, 2)}\n` },
    // Bundled straight into the package (see buildPackage); zipped from there.
    { path: manifest.main, from: join(target, manifest.main), bundled: true },
    // The app the entry requires on first use, and the function manifest it registers from (build.mjs APP_FILE, MANIFEST_FILE).
    { path: posix.join(posix.dirname(manifest.main), APP_FILE), from: join(target, posix.dirname(manifest.main), APP_FILE), bundled: true },
    { path: posix.join(posix.dirname(manifest.main), MANIFEST_FILE), from: join(target, posix.dirname(manifest.main), MANIFEST_FILE), bundled: true },
    // The SDKs the app loads on first use, each a bundle of its own beside the entry (build.mjs LAZY_SDKS).
    ...Object.values(LAZY_SDK_FILES).map((file) => {
      const path = posix.join(posix.dirname(manifest.main), file);
      return { path, from: join(target, path), bundled: true };
    }),
    // The operations console's page and assets, copied beside the entry by the build (build.mjs CONSOLE_FILES).
    ...CONSOLE_FILES.map((file) => {
      const path = posix.join(posix.dirname(manifest.main), 'console', file);
      return { path, from: join(target, path), bundled: true };
    }),
  );
  return { files: files.sort((a, b) => (a.path < b.path ? -1 : 1)), packages: [...carried.keys()], main: manifest.main };
}

/** A fixed entry time (1980-01-01 00:00, the earliest a zip can say), so the same folder gives the same zip. */
const DOS_DATE_1980_01_01 = (1 << 5) | 1;

/** The local header and the central directory record of one zip entry. */
function zipRecords({ name, method, crc, zippedSize, size, mode, offset }) {
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
  local.writeUInt16LE(0x0800, 6); // names are UTF-8
  local.writeUInt16LE(method, 8);
  local.writeUInt16LE(0, 10);
  local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(zippedSize, 18);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix (so unzip applies the mode), zip 2.0
  local.copy(central, 6, 4, 30); // version needed … name length, as in the local header
  central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38); // regular file with its permission bits
  central.writeUInt32LE(offset, 42);
  return [local, Buffer.concat([central, name])];
}

/**
 * Builds `<outDir>/package/` and `<outDir>/package.zip` (every file of the folder, paths relative to
 * it, Unix modes kept: what azd uploads). Each file is read once, then copied and deflated. (Plain
 * synchronous calls: for ~40,000 small files they beat promises on zlib's and libuv's threads.)
 */
export async function buildPackage(outDir) {
  const folder = join(outDir, 'package');
  const zipPath = join(outDir, 'package.zip');
  rmSync(folder, { recursive: true, force: true });
  rmSync(zipPath, { force: true });
  const { files, packages, main } = plan(folder);
  const bundleBytes = await bundle({ outfile: join(folder, main), sourcemap: false });
  if (files.length > 0xffff) fail(`${files.length} files need ZIP64, which this writer does not do`);

  const made = new Set();
  const entries = files.map((file) => {
    let data;
    let mode = 0o644;
    if (file.content !== undefined) data = Buffer.from(file.content, 'utf8');
    else {
      mode = statSync(file.from).mode & 0o777;
      data = readFileSync(file.from);
    }
    if (!file.bundled) {
      const to = join(folder, ...file.path.split('/'));
      const parent = dirname(to);
      if (!made.has(parent)) {
        made.add(parent);
        mkdirSync(parent, { recursive: true });
      }
      writeFileSync(to, data, { mode });
    }
    const deflated = deflateRawSync(data);
    const stored = deflated.length >= data.length;
    return { name: Buffer.from(file.path, 'utf8'), method: stored ? 0 : 8, body: stored ? data : deflated, crc: crc32(data), size: data.length, mode };
  });

  const parts = [];
  const directory = [];
  let offset = 0;
  let unpacked = 0;
  for (const entry of entries) {
    if (offset + entry.body.length > 0xffffffff) fail('the package needs ZIP64, which this writer does not do');
    const [local, central] = zipRecords({ ...entry, zippedSize: entry.body.length, offset });
    parts.push(local, entry.name, entry.body);
    directory.push(central);
    offset += local.length + entry.name.length + entry.body.length;
    unpacked += entry.size;
  }
  const directorySize = directory.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directorySize, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(zipPath, Buffer.concat([...parts, ...directory, end]));
  return { folder, zipPath, main, bundleBytes, packages, files: entries.length, unpacked, zipped: offset + directorySize + end.length };
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out-dir');
  if ((at !== -1 && !args[at + 1]) || args.length !== (at === -1 ? 0 : 2)) {
    console.error('usage: npm run package [-- --out-dir <dir>]   (default dir: dist)');
    process.exit(2);
  }
  const started = Date.now();
  const built = await buildPackage(resolve(ROOT, at === -1 ? 'dist' : args[at + 1]));
  const shown = (path) => (relative(ROOT, path).startsWith('..') ? path : relative(ROOT, path).split(sep).join('/'));
  console.log(
    `deploy package ${shown(built.folder)}/ (${built.files} files, ${mib(built.unpacked)}) and ${shown(built.zipPath)} (${mib(built.zipped)}) in ${Date.now() - started} ms:\n` +
      `  host.json, package.json (main: ${built.main}), package-lock.json, ${built.main} (${mib(built.bundleBytes)}),\n` +
      `  node_modules/ with ${built.packages.length} packages: ${RUNTIME_DEPENDENCIES.join(', ')} and their production dependencies`,
  );
}
