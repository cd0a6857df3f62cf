/**
 * The temporal restoration selector of the live and file demos: per frame, temporal (outputs only,
 * `temporal: true`), temporal guided by the degraded inputs (`temporal: { guide: true }`) or guided with
 * explained votes (`temporal: { guide: true, guideVotes: 'explained' }`), with the explanation shown next
 * to it (docs/temporal.md).
 */
import type { TemporalOption } from '../../src/browser';
import { fillSelect, queryChoice } from './setup';

/**
 * The selector's values: per frame (`off`), temporal (`on`), temporal guided by the inputs (`guide`),
 * guided where occluders explain the change (`explained`).
 */
export const TEMPORAL_CHOICES = ['off', 'on', 'guide', 'explained'] as const;
/** A temporal selector's value, also what the demos' status reports as running. */
export type TemporalMode = (typeof TEMPORAL_CHOICES)[number];

const LABELS: Record<TemporalMode, string> = {
  off: 'Per frame',
  on: 'Temporal',
  guide: 'Temporal, guided',
  explained: 'Temporal, explained votes',
};

/** What each mode does and when to use it (docs/temporal.md, sixth round: `tiny`'s gains over per frame at 240x136). */
const NOTES: Record<TemporalMode, string> = {
  off: 'Each frame is restored on its own.',
  on: 'Temporal: each restored frame is fused with the last four, aligned to it, to remove rain and snow the network left (+0.4 to +0.9 dB); moving objects and cuts keep the per-frame result.',
  guide:
    'Guided: the degraded frames also guide the result where streaks and flakes have passed: far stronger on rain and snow (+1.2 to +4.0 dB), for a fixed or slowly panning camera over a still scene. On clean video with camera or object motion it loses 4 to 5 dB: use Temporal there.',
  explained:
    'Explained votes: guided, but a past frame counts only where the current frame is it lightened towards white (rain, snow): +1.6 to +3.1 dB on rain and snow, and clean video with camera motion keeps its quality. A moving object can leave a faint trail (its own area loses up to 2.6 dB): use Temporal for busy scenes.',
};

/**
 * The `restore` options of a mode: none for per frame, `temporal: true`, `temporal: { guide: true }` or
 * `temporal: { guide: true, guideVotes: 'explained' }`.
 */
export function temporalOptions(mode: TemporalMode): { temporal?: TemporalOption } {
  if (mode === 'on') return { temporal: true };
  if (mode === 'guide') return { temporal: { guide: true } };
  if (mode === 'explained') return { temporal: { guide: true, guideVotes: 'explained' } };
  return {};
}

/**
 * Fills the selector (its value from `?temporal=off|on|guide|explained`, default per frame) and keeps `note`
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
