import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AgentDefinitionSchema } from '../../functions/core/team-schema.ts';
import { AGENT_ENTRY, agentEntryFor } from '../../lib/agent-entry.ts';

const agent = (extra: Record<string, unknown>) =>
  AgentDefinitionSchema.parse({ id: 'billing', role: 'worker', description: 'Bills.', capabilities: ['bill'], systemPrompt: 'You bill.', ...extra });

describe('Function: agentEntryFor', () => {
  it("is the generic handler's entry for an agent without module tools or handler", () => {
    expect(agentEntryFor('telecom', agent({ tools: [{ mcp: { url: 'https://mcp.example.com/mcp' } }] }))).toBe(AGENT_ENTRY);
  });

  it('generates an entry that registers the handler and each tool module once, then exports the handler', () => {
    const entry = agentEntryFor('telecom', agent({
      handler: '/team/agents/billing.ts',
      tools: [{ module: '/team/tools/invoices.ts', export: 'lookupInvoice' }, { module: '/team/tools/invoices.ts', export: 'refund' }],
    }));
    expect(entry).not.toBe(AGENT_ENTRY);
    const registrations = /^import (".*?");$/m.exec(readFileSync(entry, 'utf8'))?.[1];
    const source = readFileSync(JSON.parse(registrations ?? '""') as string, 'utf8');
    expect(source.match(/registerBundledModule\("\/team\/agents\/billing\.ts", userModule\d\)/g)).toHaveLength(1);
    expect(source.match(/registerBundledModule\("\/team\/tools\/invoices\.ts", userModule\d\)/g)).toHaveLength(1);
    expect(readFileSync(entry, 'utf8')).toContain(`export { handler } from ${JSON.stringify(AGENT_ENTRY)};`);
  });

  it('writes the same file for the same agent, so a second synth bundles the same code', () => {
    const definition = agent({ tools: [{ module: '/team/tools/invoices.ts' }] });
    expect(agentEntryFor('telecom', definition)).toBe(agentEntryFor('telecom', definition));
  });

  it('refuses an MCP server started by a command, naming the agent and what to give instead', () => {
    expect(() => agentEntryFor('telecom', agent({ tools: [{ mcp: { command: 'node', args: ['server.js'] } }] }))).toThrow(
      /Agent "billing" of team "telecom" uses an MCP server started by a command, which runs locally only: in AWS, give the server as \{ mcp: \{ url/,
    );
  });
  it('bundles a long system prompt in a registrations module imported before the handler', () => {
    const entry = agentEntryFor('telecom', agent({}), { systemPrompt: 'A very long prompt. "Quoted", too.' });
    const source = readFileSync(entry, 'utf8');
    const imports = [...source.matchAll(/^(?:import|export \{ handler \} from) (".*?")/gm)].map((match) => JSON.parse(match[1] ?? '""') as string);
    expect(imports).toEqual([expect.stringMatching(/registrations-[0-9a-f]{16}\.ts$/), AGENT_ENTRY]);
    expect(readFileSync(imports[0] ?? '', 'utf8')).toContain('registerBundledModule(BUNDLED_SYSTEM_PROMPT, {"systemPrompt":"A very long prompt. \\"Quoted\\", too."});');
  });

  it('bundles long tool definitions with the prompt', () => {
    const tools = [{ lambda: 'arn:aws:lambda:us-east-1:123456789012:function:lookup-plan', name: 'lookup_plan', description: 'A long "description".', inputSchema: { type: 'object' } }];
    const entry = agentEntryFor('telecom', agent({ tools }), { systemPrompt: 'Short.', tools });
    const registrations = /^import (".*?")/m.exec(readFileSync(entry, 'utf8'))?.[1] ?? '""';
    expect(readFileSync(JSON.parse(registrations) as string, 'utf8')).toContain(`registerBundledModule(BUNDLED_SYSTEM_PROMPT, ${JSON.stringify({ systemPrompt: 'Short.', tools })});`);
  });
});
