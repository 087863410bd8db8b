/**
 * Preload that moves this process's wall clock ahead (a year unless CLOCK_AHEAD_DAYS says otherwise):
 *   NODE_OPTIONS="--import $PWD/test/support/clock-ahead.mjs" npm test
 * A test that pins a date while the code under test reads the real clock passes today and fails on a
 * later day; under this preload it fails today. (Debian's faketime hangs vitest's esbuild transform.)
 */
const days = Number(process.env.CLOCK_AHEAD_DAYS ?? 365);
const offsetMs = days * 86_400_000;
const RealDate = globalThis.Date;

function ShiftedDate(...args) {
  if (!new.target) return new RealDate(RealDate.now() + offsetMs).toString();
  return args.length === 0 ? new RealDate(RealDate.now() + offsetMs) : new RealDate(...args);
}
ShiftedDate.prototype = RealDate.prototype;
ShiftedDate.now = () => RealDate.now() + offsetMs;
ShiftedDate.parse = RealDate.parse;
ShiftedDate.UTC = RealDate.UTC;
globalThis.Date = ShiftedDate;
