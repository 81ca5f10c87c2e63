/** Numbers for humans: 3 significant digits, thousands separated, no exponent. */
export function fmt(v: number | string | undefined): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return "n/a";
  const a = Math.abs(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  if (a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined) return "";
  if (!Number.isFinite(r)) return "n/a";
  if (r >= 100) return `${Math.round(r).toLocaleString("en-US")}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  if (r >= 0.1 || r === 0) return `${r.toFixed(2)}×`;
  return `${r.toPrecision(2)}×`;
}
