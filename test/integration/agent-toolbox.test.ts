/**
 * AgentToolbox with real sources: a module of tools and the test MCP server over stdio (a child
 * process, hence the integration project).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, InfrastructureError } from '../../functions/core/errors.ts';
import { AgentToolbox } from '../../functions/tools/agent-toolbox.ts';
import { isAlive } from '../support/processes.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ORDERS_MODULE = fileURLToPath(new URL('../fixtures/tools/orders.ts', import.meta.url));
const stdioServer = (env: Record<string, string> = {}) => ({ command: process.execPath, args: ['--import', 'tsx', 'test/support/mcp-stdio-server.ts'], cwd: REPO_ROOT, env });

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  return !isAlive(pid);
}

describe('Class: AgentToolbox', () => {
  describe('Method: tools', () => {
    it("lists a module's tools, then an MCP server's, in the definition's order", async () => {
      const toolbox = new AgentToolbox([{ module: ORDERS_MODULE, export: 'lookupOrder' }, { mcp: stdioServer(), include: ['add'] }]);
      try {
        expect((await toolbox.tools()).map((tool) => tool.spec.name)).toEqual(['lookup_order', 'add']);
      } finally {
        await toolbox.close();
      }
    });

    it('refuses two tools with one name, naming it', async () => {
      const toolbox = new AgentToolbox([{ mcp: stdioServer(), include: ['add'] }, { mcp: stdioServer(), include: ['add'] }]);
      await expect(toolbox.tools()).rejects.toThrow(ConfigurationError);
      await expect(toolbox.tools()).rejects.toThrow(/two tools of one agent are named add/);
    });

    it('stops the servers it started when a later source fails, and tries again on the next call', async () => {
      const pidFile = join(mkdtempSync(join(tmpdir(), 'legion-toolbox-')), 'pid');
      const toolbox = new AgentToolbox([{ mcp: stdioServer({ LEGION_TEST_PID_FILE: pidFile }) }, { mcp: { command: 'legion-no-such-mcp-server', args: [] } }]);
      await expect(toolbox.tools()).rejects.toThrow(InfrastructureError);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      expect(await waitUntilGone(pid, 5_000)).toBe(true);
      await expect(toolbox.tools()).rejects.toThrow(/legion-no-such-mcp-server/);
      expect(await waitUntilGone(Number(readFileSync(pidFile, 'utf8')), 5_000)).toBe(true);
    });
  });
});
