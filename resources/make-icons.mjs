// Draws the app icon (icon.png, 512 px) and the tray icon (tray.png, 32 px) as PNG without any
// image library: the same design as icon.svg, rasterised with 4× supersampling.
// Usage: node resources/make-icons.mjs
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const here = path.dirname(new URL(import.meta.url).pathname);

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const inRoundRect = (x, y, rx, ry, w, h, r) => {
  if (x < rx || y < ry || x > rx + w || y > ry + h) return false;
  const cx = Math.min(Math.max(x, rx + r), rx + w - r);
  const cy = Math.min(Math.max(y, ry + r), ry + h - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};

/** Colour at a point of the 512-unit design: [r, g, b, a]. */
function sample(x, y) {
  if (!inRoundRect(x, y, 0, 0, 512, 512, 112)) return [0, 0, 0, 0];
  for (const [bx, by, bh] of [
    [112, 272, 128],
    [224, 144, 256],
    [336, 208, 192],
  ])
    if (inRoundRect(x, y, bx, by, 64, bh, 16)) return [255, 255, 255, 255];
  const t = (x + y) / 1024;
  return [Math.round(0x25 + (0x14 - 0x25) * t), Math.round(0x63 + (0xb8 - 0x63) * t), Math.round(0xeb + (0xa6 - 0xeb) * t), 255];
}

function render(size) {
  const out = Buffer.alloc(size * size * 4);
  const ss = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = sample(((px + (sx + 0.5) / ss) * 512) / size, ((py + (sy + 0.5) / ss) * 512) / size);
          acc[0] += c[0] * c[3];
          acc[1] += c[1] * c[3];
          acc[2] += c[2] * c[3];
          acc[3] += c[3];
        }
      }
      const i = (py * size + px) * 4;
      const a = acc[3];
      out[i] = a ? Math.round(acc[0] / a) : 0;
      out[i + 1] = a ? Math.round(acc[1] / a) : 0;
      out[i + 2] = a ? Math.round(acc[2] / a) : 0;
      out[i + 3] = Math.round(a / (ss * ss));
    }
  }
  return png(size, out);
}

fs.writeFileSync(path.join(here, 'icon.png'), render(512));
fs.writeFileSync(path.join(here, 'tray.png'), render(32));
fs.writeFileSync(path.join(here, 'tray@2x.png'), render(64));
