// Go's text/tabwriter (elastic tabstops), as docker's formatter uses it for `table` output:
// tabwriter.NewWriter(out, minwidth 10, tabwidth 1, padding 3, ' ', 0). A cell is text ended by
// a tab; the last cell of a line is not part of a column. A column block is a run of consecutive
// lines that have a cell in that column; its width is the widest cell plus the padding, at least
// minwidth. Cells are padded with spaces to their column's width.

export interface TabOptions {
  minwidth: number;
  padding: number;
}

/**
 * Display width of a cell, as docker's fork of tabwriter measures it (go-runewidth): East Asian
 * wide and fullwidth characters and emoji take two columns, combining marks none.
 */
export function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (/\p{Mn}|\p{Me}|\u200B|\u200D/u.test(ch)) continue;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
      (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
      (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

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
