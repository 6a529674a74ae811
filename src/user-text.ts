/**
 * Text a user supplied (argv, config keys and values, file names) is shown in messages with every
 * control or invisible formatting character escaped, so it can neither move the cursor, clear the
 * screen, fake extra lines nor reorder what is printed around it.
 */
// C0 controls, DEL, C1 controls (\u009b is a CSI on some terminals), soft hyphen and other
// invisible marks, line/paragraph separators, bidirectional overrides and isolates, zero-width
// marks, the BOM and interlinear annotation marks.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with control characters escaped JSON-style (`\n`, `\u001b`); everything else unchanged. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (char) => SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A user-supplied value for an error message: in double quotes, with `"`, `\` and control characters escaped. */
export function quoteValue(text: string): string {
  return `"${escapeControls(text.replace(/[\\"]/g, (char) => `\\${char}`))}"`;
}

/** `text` as is when it has nothing to escape, else quoted and escaped (file names in lists read naturally). */
export function printableText(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? quoteValue(text) : text;
}
