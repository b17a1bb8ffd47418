/**
 * A byte string that marks the lines worth parsing, searched through a short "anchor" of it.
 *
 * `Buffer.indexOf` runs memchr on a pattern's first byte and compares the rest at each stop.
 * Most needles begin with `"`, which starts every JSON token (one byte in 27 of real logs), so
 * the search stops constantly; starting from the needle's rarest byte (`_`, a capital) stops a
 * few times less often and made whole-file searches 3–6× faster on real and synthetic logs.
 * The match is then checked against the whole needle: which lines match does not change.
 */
export interface Needle {
  readonly bytes: Buffer;
  /** Up to ANCHOR_MAX bytes of the needle, starting at `at`. */
  readonly anchor: Buffer;
  readonly at: number;
}

/**
 * Bytes of agent logs by falling frequency (measured on the real logs of every agent): a byte
 * further down, or absent, is rarer; only the rough order matters. `_` (0.7–0.9 %, about as
 * rare as `k` or `y`) is put last: in JSON keys it starts the most selective anchors.
 */
const BY_FREQUENCY = ' entsa"oir\\lcdup:m-hg,f0/12by.k45v3w7698_';
/** Longer patterns go through Node's Boyer–Moore path, which is slower on these logs than memchr plus a compare. */
const ANCHOR_MAX = 7;
const ANCHOR_MIN = 4;

function rarity(byte: number): number {
  const i = BY_FREQUENCY.indexOf(String.fromCharCode(byte));
  return i < 0 ? BY_FREQUENCY.length : i;
}

export function toNeedle(text: string): Needle {
  const bytes = Buffer.from(text, 'utf8');
  const width = Math.min(ANCHOR_MAX, bytes.length);
  let at = 0;
  // Anchors of ANCHOR_MAX bytes, or shorter ones ending the needle (still at least ANCHOR_MIN long).
  for (let i = 1; i + Math.min(width, ANCHOR_MIN) <= bytes.length; i++) {
    if (rarity(bytes[i]!) > rarity(bytes[at]!)) at = i;
  }
  return { bytes, anchor: bytes.subarray(at, Math.min(at + width, bytes.length)), at };
}

export function toNeedles(texts: readonly string[]): Needle[] {
  return texts.map(toNeedle);
}

/** Offset of the first whole needle in data[from, …), or -1. */
export function indexOfNeedle(data: Buffer, needle: Needle, from: number): number {
  const { bytes, anchor, at } = needle;
  let pos = from + at;
  for (;;) {
    const hit = data.indexOf(anchor, pos);
    if (hit < 0) return -1;
    const start = hit - at;
    if (start + bytes.length <= data.length && matchesAt(data, start, bytes)) return start;
    pos = hit + 1;
  }
}

function matchesAt(data: Buffer, start: number, bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (data[start + i] !== bytes[i]) return false;
  return true;
}
