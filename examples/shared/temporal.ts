/**
 * The temporal restoration selector of the live and file demos: per frame, temporal (outputs only,
 * `temporal: true`) or temporal guided by the degraded inputs (`temporal: { guide: true }`), with the
 * explanation shown next to it (docs/temporal.md).
 */
import type { TemporalOption } from '../../src/browser';
import { fillSelect, queryChoice } from './setup';

/** The selector's values: per frame (`off`), temporal (`on`), temporal guided by the inputs (`guide`). */
export const TEMPORAL_CHOICES = ['off', 'on', 'guide'] as const;
/** A temporal selector's value, also what the demos' status reports as running. */
export type TemporalMode = (typeof TEMPORAL_CHOICES)[number];

const LABELS: Record<TemporalMode, string> = {
  off: 'Per frame',
  on: 'Temporal',
  guide: 'Temporal, guided',
};

/** What each mode does and when to use it (docs/temporal.md; gains of `tiny` over per frame at 240x136). */
const NOTES: Record<TemporalMode, string> = {
  off: 'Each frame is restored on its own.',
  on: 'Temporal: each restored frame is fused with the last four, aligned to it, to remove rain and snow the network left (+0.5 to +1.4 dB); moving objects and cuts keep the per-frame result.',
  guide:
    'Guided: the degraded frames also guide the result where streaks and flakes have passed: far stronger on rain and snow (+1.8 to +4.4 dB), for a fixed or slowly panning camera over a still scene. On clean video with camera or object motion it loses 0.6 to 2.3 dB: use Temporal there.',
};

/** The `restore` options of a mode: none for per frame, `temporal: true` or `temporal: { guide: true }`. */
export function temporalOptions(mode: TemporalMode): { temporal?: TemporalOption } {
  if (mode === 'on') return { temporal: true };
  if (mode === 'guide') return { temporal: { guide: true } };
  return {};
}

/**
 * Fills the selector (its value from `?temporal=off|on|guide`, default per frame) and keeps `note`
 * explaining the chosen mode.
 */
export function setUpTemporalSelect(select: HTMLSelectElement, note: HTMLElement): void {
  fillSelect(select, TEMPORAL_CHOICES, queryChoice('temporal', TEMPORAL_CHOICES, 'off'), LABELS);
  const explain = (): void => {
    note.textContent = NOTES[select.value as TemporalMode];
  };
  select.addEventListener('change', explain);
  explain();
}
