// Fills that tell series apart without colour: each series gets a solid, hatched, dotted or
// outlined look, drawn from SVG patterns that every chart defines for itself.

let next = 0;

/** A prefix for one chart's pattern ids, unique in the page (two charts never share an id). */
export function patternPrefix(): string {
  next += 1;
  return `chart${next}`;
}

/** The look of series `index` (0 solid, 1 hatched, 2 dotted, 3 crossed). */
export const LOOKS = ['solid', 'hatch', 'dots', 'cross'] as const;
export type Look = (typeof LOOKS)[number];

/** The `fill` of a series: a colour for `solid`, else the chart's pattern. */
export function fillOf(prefix: string, look: Look): string {
  return look === 'solid' ? 'var(--brand)' : `url(#${prefix}-${look})`;
}
