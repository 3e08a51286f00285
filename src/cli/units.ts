// go-units' sizes as Go prints them (strconv's %g: an exponent once the digits run out, so
// 999.6 kB with three digits is "1e+03kB", as docker and ctr show it).

/** Go's strconv %.{prec}g: shortest digits up to prec, exponent when exp < -4 or exp >= prec. */
export function goG(x: number, prec: number): string {
  if (x === 0) return "0";
  const e = x.toExponential(prec - 1); // "d.ddde+N"
  const [mant, expStr] = e.split("e") as [string, string];
  const exp = Number(expStr);
  const trim = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= prec) return `${trim(mant)}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return trim(x.toFixed(Math.max(0, prec - 1 - exp)));
}

function customSize(size: number, prec: number, base: number, units: string[]): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${goG(size, prec)}${units[i]}`;
}

/** go-units BytesSize: 1536 → "1.5KiB". */
export const bytesSize = (n: number) => customSize(n, 4, 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]);
/** go-units HumanSizeWithPrecision(n, 3): 1234 → "1.23kB". */
export const humanSize3 = (n: number) => customSize(n, 3, 1000, ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]);

/** go-units HumanSize (four significant digits, decimal): what ctr prints for sizes. */
export const humanSize4 = (n: number) => customSize(n, 4, 1000, ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]);
