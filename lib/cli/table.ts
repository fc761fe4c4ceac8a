/** Plain aligned text tables for terminal output. */

/** Rows padded to the widest cell of each column; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]) {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `abcdefghijkl` -> `abcdefgh…`: enough to tell values apart in a table. */
export function shorten(value: string, keep = 8): string {
  return value.length > keep + 1 ? `${value.slice(0, keep)}…` : value;
}
