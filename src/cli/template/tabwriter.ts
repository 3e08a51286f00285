// Go's text/tabwriter (elastic tabstops), as docker's formatter uses it for `table` output:
// tabwriter.NewWriter(out, minwidth 10, tabwidth 1, padding 3, ' ', 0). A cell is text ended by
// a tab; the last cell of a line is not part of a column. A column block is a run of consecutive
// lines that have a cell in that column; its width is the widest cell plus the padding, at least
// minwidth. Cells are padded with spaces to their column's width.

export interface TabOptions {
  minwidth: number;
  padding: number;
}

/** Display width of a cell (docker's fork counts runes; wide East Asian characters count 1 here). */
const width = (s: string): number => [...s].length;

export function tabwrite(text: string, o: TabOptions = { minwidth: 10, padding: 3 }): string {
  const endsWithNewline = text.endsWith("\n");
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split("\n").map((l) => l.split("\t"));
  const widths: number[] = [];
  let out = "";

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      cells.forEach((c, j) => {
        out += c;
        if (j < widths.length && j < cells.length - 1) out += " ".repeat(Math.max(0, widths[j]! - width(c)));
      });
      if (i + 1 < lines.length || endsWithNewline) out += "\n";
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let self = line0; self < line1; self++) {
      if (column >= lines[self]!.length - 1) continue;
      writeLines(line0, self);
      line0 = self;
      let w = o.minwidth;
      for (; self < line1; self++) {
        const cells = lines[self]!;
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]!) + o.padding);
      }
      widths.push(w);
      format(line0, self);
      widths.pop();
      line0 = self;
      self--;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}
