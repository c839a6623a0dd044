import type { DrillResult } from './drill';

/** A drill's line in the report. */
export interface Row {
  name: string;
  result: DrillResult;
  seconds: number;
}

/** The report: `drill | tried | held | broken | s | note`, then every broken try. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['drill', 'tried', 'held', 'broken', 's', 'note'];
  const cells = rows.map(({ name, result, seconds }) => [
    name,
    String(result.tried),
    String(result.held),
    String(result.broken),
    seconds.toFixed(0),
    result.notes.join('; '),
  ]);
  const widths = header.slice(0, -1).map((title, i) => Math.max(title.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => {
        if (i === row.length - 1) return cell;
        const width = widths[i] as number;
        return i === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join(' | ');
  const rule = widths.map((width) => '-'.repeat(width)).join('-|-');
  const out = [line(header), `${rule}-|-${'-'.repeat(4)}`, ...cells.map(line)];
  const broken = rows.filter((row) => row.result.failures.length > 0);
  if (broken.length > 0) {
    out.push('', 'Broken:');
    for (const row of broken) for (const failure of row.result.failures) out.push(`  [${row.name}] ${failure}`);
  }
  return `${out.join('\n')}\n`;
}
