/**
 * Where a call was made, for tests that check where an error's stack leads. vitest maps stacks
 * back to the sources, the same way for both sides of the comparison.
 */

/** `file:line` of the code that calls this function, such as `rpc.spec.ts:42`. */
export function callSite(): string {
  // Frame 0 is the message, 1 this function, 2 its caller.
  const frame = new Error().stack?.split('\n')[2] ?? '';
  const match = /([^/\\(\s]+):(\d+):\d+\)?$/.exec(frame);
  if (match === null) throw new Error(`no file and line in the stack frame '${frame}'`);
  return `${match[1]}:${match[2]}`;
}

/** The same site, `lines` further down: the line a call written right after this one is on. */
export function siteBelow(site: string, lines = 1): string {
  const at = site.lastIndexOf(':');
  return `${site.slice(0, at)}:${Number(site.slice(at + 1)) + lines}`;
}
