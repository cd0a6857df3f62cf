/** The draggable split line between the original (left) and the restored picture (right) of the live demo. */

/** Controls of a split view. */
export interface SplitView {
  /** Where the line is, 0..1 from the left. */
  readonly position: number;
  /** Moves the line (clamped to 0..1). */
  set(position: number): void;
}

/**
 * Makes `stage` a split view: `top` (the restored canvas, stacked over the original) is clipped to the
 * right of the line; dragging anywhere on the stage or the arrow keys on `handle` move it.
 */
export function splitView(stage: HTMLElement, top: HTMLElement, handle: HTMLElement, initial = 0.5): SplitView {
  let position = initial;
  const set = (p: number): void => {
    position = Math.min(1, Math.max(0, p));
    const pct = `${(position * 100).toFixed(2)}%`;
    top.style.clipPath = `inset(0 0 0 ${pct})`;
    handle.style.left = pct;
    handle.setAttribute('aria-valuenow', String(Math.round(position * 100)));
  };
  const fromEvent = (e: PointerEvent): void => {
    const r = stage.getBoundingClientRect();
    if (r.width > 0) set((e.clientX - r.left) / r.width);
  };
  stage.addEventListener('pointerdown', (e) => {
    stage.setPointerCapture(e.pointerId);
    fromEvent(e);
    handle.focus({ preventScroll: true });
  });
  stage.addEventListener('pointermove', (e) => {
    if (stage.hasPointerCapture(e.pointerId)) fromEvent(e);
  });
  stage.addEventListener('pointerup', (e) => stage.releasePointerCapture(e.pointerId));
  handle.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 0.1 : 0.02;
    if (e.key === 'ArrowLeft') set(position - step);
    else if (e.key === 'ArrowRight') set(position + step);
    else if (e.key === 'Home') set(0);
    else if (e.key === 'End') set(1);
    else return;
    e.preventDefault();
  });
  set(initial);
  return {
    get position() {
      return position;
    },
    set,
  };
}
