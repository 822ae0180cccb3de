/**
 * Polling on a thread that would rather not sleep (waking a parked thread costs far more than a poll).
 * @internal
 */

/** Clock reads are this many polls apart. */
const POLLS_PER_CLOCK_READ = 64;

/**
 * Polls `done` until it returns true (then true) or `ms` milliseconds have passed (then
 * false). The clock is read once every {@link POLLS_PER_CLOCK_READ} polls, not on every
 * one: `performance.now()` returns a new heap number, and a loop that read it on every poll
 * filled a polling worker's young generation with garbage, so the isolate scavenged often,
 * promoted what was live at each scavenge, and its old generation (and the process's RSS)
 * grew with every call between major collections.
 */
export function pollFor(done: () => boolean, ms: number): boolean {
  const until = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < POLLS_PER_CLOCK_READ; i++) if (done()) return true;
    if (performance.now() >= until) return done();
  }
}
