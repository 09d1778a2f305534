/**
 * Reading Prometheus text in tests: one series (name plus labels, exactly as
 * exported), or undefined when the process does not export it.
 */

/** The value of `series` (e.g. `barrage_closes_total{code="4001"}`) in `text`, or undefined. */
export function promValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Fetches `${baseUrl}/metrics` and reads one series from it. */
export async function scrape(baseUrl: string, series: string): Promise<number | undefined> {
  return promValue(await (await fetch(`${baseUrl}/metrics`)).text(), series);
}
