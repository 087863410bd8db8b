/** Rows as a plain-text table under a header, columns padded to their widest cell, two spaces apart. */
export function textTable(header: string[], rows: string[][], options: { rightAligned?: number[] } = {}): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const pad = (cell: string, column: number) =>
    options.rightAligned?.includes(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!);
  return [header, ...rows].map((row) => row.map(pad).join('  ').trimEnd()).join('\n') + '\n';
}
