/**
 * Decodes every picture listed in an image-features index (eval/xdep/image-features.ts) the way the
 * service's decoder does (src/images/image-decoding.ts `decodeRgb`: sharp, first frame, EXIF
 * orientation applied, sRGB, SVG rasterised at its declared size) but keeps the alpha channel, so
 * that models/xdep/trunks.py can try other background handling than "flatten on white".
 *
 *   npx tsx models/xdep/decode-rgba.ts --index var/xdep-features/index.json --out var/xdep-trunks/rgba
 *
 * Writes `<out>/<row>.png` (8-bit RGBA, row = position in the index) and `<out>/done.json`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({
  options: {
    index: { type: 'string', default: 'var/xdep-features/index.json' },
    out: { type: 'string', default: 'var/xdep-trunks/rgba' },
    root: { type: 'string', default: '.' },
  },
});
const index = JSON.parse(await readFile(values.index, 'utf8')) as { rows: { path: string }[] };
const out = path.resolve(values.out);
await mkdir(out, { recursive: true });
const started = performance.now();
for (const [i, row] of index.rows.entries()) {
  const bytes = await readFile(path.resolve(values.root, row.path));
  await sharp(bytes, { failOn: 'error', animated: false, limitInputPixels: 40_000_000 })
    .rotate()
    .toColourspace('srgb')
    .ensureAlpha()
    .png({ compressionLevel: 1 })
    .toFile(path.join(out, `${i}.png`));
  if ((i + 1) % 1000 === 0) {
    console.log(
      `${i + 1}/${index.rows.length} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
}
await writeFile(path.join(out, 'done.json'), JSON.stringify({ rows: index.rows.length }));
console.log(`${index.rows.length} pictures -> ${out}`);
