// A QR code of a link, drawn as SVG with DOM calls (no markup from strings).

import { encode } from '../vendor/uqr/index.mjs';

const SVG = 'http://www.w3.org/2000/svg';

// qrMatrix returns the rows of dark (true) and light modules, with a 4-module quiet zone.
export function qrMatrix(text) {
  return encode(text, { ecc: 'L', border: 4 }).data;
}

// qrSVG returns an <svg> element showing text as a QR code.
export function qrSVG(doc, text, label) {
  const m = qrMatrix(text);
  const n = m.length;
  const svg = doc.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${n} ${n}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = doc.createElementNS(SVG, 'rect');
  bg.setAttribute('width', n);
  bg.setAttribute('height', n);
  bg.setAttribute('fill', '#fff');
  svg.append(bg);
  let d = '';
  m.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x} ${y}h1v1h-1z`; }));
  const path = doc.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(path);
  return svg;
}
