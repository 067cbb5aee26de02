// Events per minute as stacked bars on a canvas: failures, permission requests, the rest.

function color(element, name, fallback) {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value || fallback;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

/** Draw `buckets` (from store.perMinute) on `canvas`; returns a one-line text summary. */
export function drawChart(canvas, buckets) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(100, canvas.clientWidth);
  const height = Math.max(60, canvas.clientHeight);
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const colors = {
    normal: color(canvas, "--chart-normal", "#4f7cff"),
    failure: color(canvas, "--chart-failure", "#e5484d"),
    permission: color(canvas, "--chart-permission", "#f5a524"),
    grid: color(canvas, "--chart-grid", "#2a3140"),
    text: color(canvas, "--chart-text", "#8b93a7"),
  };
  const peak = Math.max(0, ...buckets.map((bucket) => bucket.total));
  const top = niceMax(peak);
  const left = 30;
  const bottom = 16;
  const plotWidth = width - left - 4;
  const plotHeight = height - bottom - 6;
  const slot = plotWidth / buckets.length;
  const bar = Math.max(1, slot * 0.72);

  ctx.font = "10px system-ui, sans-serif";
  ctx.fillStyle = colors.text;
  ctx.strokeStyle = colors.grid;
  ctx.lineWidth = 1;
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  for (const fraction of [0, 0.5, 1]) {
    const y = Math.round(6 + plotHeight * (1 - fraction)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(width - 4, y);
    ctx.stroke();
    const value = top * fraction;
    if (Number.isInteger(value)) ctx.fillText(String(value), left - 5, y);
  }

  buckets.forEach((bucket, index) => {
    const x = left + index * slot + (slot - bar) / 2;
    let y = 6 + plotHeight;
    const parts = [
      [bucket.failures, colors.failure],
      [bucket.permissions, colors.permission],
      [bucket.total - bucket.failures - bucket.permissions, colors.normal],
    ];
    for (const [count, fill] of parts) {
      if (count <= 0) continue;
      const h = (count / top) * plotHeight;
      ctx.fillStyle = fill;
      ctx.fillRect(x, y - h, bar, h);
      y -= h;
    }
  });

  ctx.fillStyle = colors.text;
  ctx.textBaseline = "alphabetic";
  const minutes = buckets.length;
  const labels = [
    [0, `-${minutes}m`, "left"],
    [Math.floor(minutes / 2), `-${Math.ceil(minutes / 2)}m`, "center"],
    [minutes - 1, "now", "right"],
  ];
  for (const [index, label, align] of labels) {
    ctx.textAlign = align;
    const x = left + index * slot + (align === "left" ? 0 : align === "right" ? slot : slot / 2);
    ctx.fillText(label, x, height - 3);
  }

  const total = buckets.reduce((sum, bucket) => sum + bucket.total, 0);
  const failures = buckets.reduce((sum, bucket) => sum + bucket.failures, 0);
  return `${total} events in the last ${minutes} minutes, at most ${peak} a minute, ${failures} failures`;
}
