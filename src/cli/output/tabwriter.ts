// Go's text/tabwriter as docker uses it (minwidth 10, tabwidth 1, padding 3, space padding): a
// cell is text ended by a tab; a column block is a run of consecutive lines that have a cell in
// that column, and all its cells are padded to the widest one plus the padding. The last cell of
// a line (not tab-terminated) is never padded.

export interface TabOptions {
  minWidth?: number;
  padding?: number;
}

const width = (s: string): number => [...s].length;

export function tabwrite(text: string, opts: TabOptions = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i]!;
      let s = '';
      cells.forEach((c, j) => {
        if (j < widths.length && j < cells.length - 1) s += c + ' '.repeat(Math.max(0, widths[j]! - width(c)));
        else s += c;
      });
      out.push(s);
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      // this line has a cell in the column: it starts a block
      writeLines(line0, i);
      line0 = i;
      let w = minWidth;
      for (; i < line1; i++) {
        const cells = lines[i]!;
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]!) + padding);
      }
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--; // the for loop's i++ revisits the line that ended the block
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
