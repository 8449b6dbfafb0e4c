// Counts in words, for messages: "1 file", "3 files", "no files".

/** `n` and the noun, plural unless n is 1 ("no" for 0): countOf(1, 'image') is '1 image'. */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return n === 0 ? `no ${plural}` : `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}
