/**
 * A colour per class index: a fixed list of easily told-apart colours first (Sasha Trubetskoy's "20 simple
 * distinct colours", the saturated ones that stand out on imagery), then golden-angle hues for further classes.
 */
export type Rgb = [number, number, number];

const DISTINCT: readonly Rgb[] = [
  [230, 25, 75], // red
  [60, 180, 75], // green
  [67, 99, 216], // blue
  [255, 225, 25], // yellow
  [245, 130, 49], // orange
  [145, 30, 180], // purple
  [66, 212, 244], // cyan
  [240, 50, 230], // magenta
  [191, 239, 69], // lime
  [250, 190, 212], // pink
  [70, 153, 144], // teal
  [220, 190, 255], // lavender
  [154, 99, 36], // brown
  [255, 250, 200], // beige
  [128, 0, 0], // maroon
  [170, 255, 195], // mint
  [128, 128, 0], // olive
  [255, 216, 177], // apricot
  [0, 0, 117], // navy
];

export function classColour(index: number): Rgb {
  const fixed = DISTINCT[index];
  if (fixed) return [...fixed];
  return hslToRgb(((index - DISTINCT.length) * 137.508) % 360, 0.75, 0.55);
}

/** '#rrggbb' for a colour, as legends print it. */
export function hexColour([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

function hslToRgb(hue: number, saturation: number, lightness: number): Rgb {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    return Math.round(255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [channel(0), channel(8), channel(4)];
}
