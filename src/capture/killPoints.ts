/**
 * Named points of the regeneration where the kill test stops the driver dead (SIGKILL, no
 * cleanup), to prove goldens/ is never half-written: GRADPARITY_KILL_AT=<name>. Unset in any
 * normal run, where this does nothing.
 */
export function killPoint(name: string): void {
  if (process.env.GRADPARITY_KILL_AT === name) process.kill(process.pid, 'SIGKILL');
}
