/** The training report: the loss curve over the stages (the paper's Figure 4) and per-task validation after each stage, as standalone HTML with inline SVG. */
import type { TrainerState } from './trainer.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** An SVG line chart of the training loss (log scale), with the stage boundaries marked and named. */
export function lossCurveSvg(state: Pick<TrainerState, 'curve' | 'options'>, stageBounds: readonly { start: number; end: number; label: string }[], width = 720, height = 300): string {
  const pts = state.curve;
  const pad = { l: 56, r: 12, t: 24, b: 36 };
  const maxStep = Math.max(1, ...stageBounds.map((s) => s.end), ...pts.map((p) => p.step));
  const losses = pts.map((p) => p.loss).filter((v) => v > 0);
  const lo = Math.log10(Math.min(...losses, 1e-2));
  const hi = Math.log10(Math.max(...losses, 1e-1));
  const x = (s: number): number => pad.l + ((width - pad.l - pad.r) * s) / maxStep;
  const y = (v: number): number => pad.t + ((height - pad.t - pad.b) * (hi - Math.log10(Math.max(v, 1e-9)))) / Math.max(hi - lo, 1e-6);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`];
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  stageBounds.forEach((s, i) => {
    parts.push(`<rect x="${x(s.start)}" y="${pad.t}" width="${x(s.end) - x(s.start)}" height="${height - pad.t - pad.b}" fill="${COLORS[i % COLORS.length]}" opacity="0.08"/>`);
    parts.push(`<text x="${(x(s.start) + x(s.end)) / 2}" y="${pad.t - 8}" text-anchor="middle">${esc(s.label)}</text>`);
  });
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    parts.push(`<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y(10 ** e) + 4}" text-anchor="end">1e${e}</text>`);
  }
  const path = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' ');
  if (path) parts.push(`<path d="${path}" fill="none" stroke="#222" stroke-width="1.2"/>`);
  parts.push(`<line x1="${pad.l}" x2="${width - pad.r}" y1="${height - pad.b}" y2="${height - pad.b}" stroke="#444"/>`);
  parts.push(`<text x="${(width + pad.l) / 2}" y="${height - 8}" text-anchor="middle">step (training loss, log scale)</text>`);
  parts.push(`<text x="${x(maxStep)}" y="${height - pad.b + 14}" text-anchor="end">${maxStep}</text><text x="${pad.l}" y="${height - pad.b + 14}">0</text>`);
  parts.push('</svg>');
  return parts.join('');
}

/** Stage boundaries of a run from its per-stage step counts. */
export function stageBounds(stages: readonly { steps: number; tasks: readonly string[] }[]): { start: number; end: number; label: string }[] {
  let start = 0;
  return stages.map((s) => {
    const b = { start, end: start + s.steps, label: s.tasks.join('+') };
    start += s.steps;
    return b;
  });
}

/** A Markdown table of the validation after each stage: PSNR gain (restored minus degraded) per task. */
export function validationTable(state: Pick<TrainerState, 'validation' | 'options'>): string {
  const tasks = state.options.tasks;
  const rows = [`| after | ${tasks.map((t) => `${t} dB gain`).join(' | ')} | mean |`, `|---|${tasks.map(() => '---').join('|')}|---|`];
  for (const v of state.validation) {
    const gains = tasks.map((t) => (v.scores[t] ? v.scores[t]!.psnr - v.scores[t]!.psnrDegraded : NaN));
    const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
    rows.push(`| ${v.afterTask ?? 'start'} (step ${v.step}) | ${gains.map((g) => g.toFixed(2)).join(' | ')} | ${mean.toFixed(2)} |`);
  }
  return rows.join('\n');
}

/** The whole report as one HTML page. */
export function reportHtml(state: TrainerState, stages: readonly { steps: number; tasks: readonly string[] }[]): string {
  const tasks = state.options.tasks;
  const head = `<tr><th>after</th>${tasks.map((t) => `<th>${esc(t)} PSNR (gain)</th>`).join('')}</tr>`;
  const body = state.validation
    .map((v) => `<tr><td>${esc(v.afterTask ?? 'start')} (step ${v.step})</td>${tasks
      .map((t) => {
        const s = v.scores[t];
        return s ? `<td>${s.psnr.toFixed(2)} (${(s.psnr - s.psnrDegraded >= 0 ? '+' : '') + (s.psnr - s.psnrDegraded).toFixed(2)})${s.ssim !== undefined ? `<br><small>SSIM ${s.ssim.toFixed(3)} vs ${s.ssimDegraded?.toFixed(3)}</small>` : ''}</td>` : '<td>-</td>';
      })
      .join('')}</tr>`)
    .join('');
  return `<!doctype html><meta charset="utf-8"><title>SimpleIR training report</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}table{border-collapse:collapse}</style>
<h1>SimpleIR training report</h1>
<p>Strategy <b>${esc(state.options.strategy)}</b>, tasks ${tasks.map(esc).join(' → ')}, ${state.step} of ${stages.reduce((a, s) => a + s.steps, 0)} steps, batch ${state.options.batchSize}, config <code>${esc(JSON.stringify(state.options.config))}</code>, ${(state.elapsedMs / 3.6e6).toFixed(2)} h of training.</p>
${lossCurveSvg(state, stageBounds(stages))}
<h2>Validation (PSNR dB, gain over the degraded input)</h2><table>${head}${body}</table>`;
}
