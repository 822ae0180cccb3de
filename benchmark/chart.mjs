// The results as an SVG bar chart (one panel per workload, medians on a log scale).
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const colour = (name) => (name.startsWith('ferropool') ? '#d9480f' : name.startsWith('native') ? '#495057' : name.startsWith('serial') ? '#868e96' : '#339af0');

export function chart(results) {
  const panels = Object.entries(results.workloads).filter(([id]) => id !== 'memory');
  const rowH = 18;
  const labelW = 330;
  const barW = 420;
  let y = 54;
  const parts = [];
  for (const [id, w] of panels) {
    const rows = Object.entries(w.medians).sort((a, b) => a[1] - b[1]);
    const max = Math.log10(Math.max(...rows.map(([, v]) => v)) * 1.5);
    const min = Math.log10(Math.min(...rows.map(([, v]) => v)) / 3);
    parts.push(`<text x="10" y="${y}" font-weight="bold">${esc(`${id}: ${w.title}`)} (median ${esc(w.unit)}, log scale)</text>`);
    y += 8;
    for (const [name, v] of rows) {
      const len = Math.max(2, ((Math.log10(v) - min) / (max - min)) * barW);
      parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(name)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y + 2}" width="${len.toFixed(1)}" height="${rowH - 5}" fill="${colour(name)}"/>`);
      parts.push(`<text x="${labelW + len + 5}" y="${y + 13}">${v >= 100 ? v.toFixed(0) : v.toPrecision(3)}</text>`);
      y += rowH;
    }
    y += 22;
  }
  const m = results.machine;
  const head = `<text x="10" y="22" font-weight="bold" font-size="15">ferropool vs serial JS, native C/OpenMP and the JS pools</text>` +
    `<text x="10" y="40">${esc(`${m.cpu} · ${m.cores} cores (${m.threads} threads) · Node ${m.node} · ${m.date.slice(0, 10)}`)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 90}" height="${y}" font-family="sans-serif" font-size="12" role="img">` +
    `<title>ferropool benchmark medians, ${esc(m.cores)} cores</title><rect width="100%" height="100%" fill="white"/>${head}${parts.join('')}</svg>\n`;
}
