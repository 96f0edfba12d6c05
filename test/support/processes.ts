/**
 * Test support: whether a process is still there (signal 0 only checks), for the tests that make
 * sure a stdio MCP server was stopped.
 *
 * @example
 * ```ts
 * expect(isAlive(pid)).toBe(false);
 * ```
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
