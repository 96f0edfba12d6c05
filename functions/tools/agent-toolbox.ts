/**
 * An agent's tools, loaded from its team definition's `tools` on first use and kept: module tools
 * are imported once, Lambda tools get one client, MCP servers are connected once (per Lambda cold start, or per local run) and
 * closed with `close()`.
 *
 * @example
 * ```ts
 * const toolbox = new AgentToolbox(agent.tools);
 * const tools = await toolbox.tools(); // [{ spec: { name: 'lookup_invoice', ... }, call }]
 * await toolbox.close();
 * ```
 */
import { ConfigurationError } from '../core/errors.ts';
import type { ToolSource } from '../core/team-schema.ts';
import { connectMcpTools } from './mcp-tools.ts';
import { lambdaTool } from './lambda-tools.ts';
import { loadModuleTools } from './module-tools.ts';
import type { Tool } from './tool.ts';

export class AgentToolbox {
  private loading: Promise<Tool[]> | undefined;
  private readonly closers: (() => Promise<void>)[] = [];

  public constructor(private readonly sources: readonly ToolSource[]) {}

  /** Whether the agent has any tools at all (without loading them). */
  public get isEmpty(): boolean {
    return this.sources.length === 0;
  }

  /**
   * Every tool of every source, in the team definition's order.
   *
   * @throws {ConfigurationError} when two tools share a name, or a module cannot be loaded
   * @throws {InfrastructureError} when an MCP server cannot be started or reached
   */
  public tools(): Promise<Tool[]> {
    // A failed load is not kept: the next step tries again (an MCP server may be back). The servers
    // it did connect are closed first, or each attempt would leave one more running.
    this.loading ??= this.load().catch(async (error: unknown) => {
      await this.close();
      throw error;
    });
    return this.loading;
  }

  /** Closes the MCP connections (stops stdio servers). */
  public async close(): Promise<void> {
    const closers = this.closers.splice(0);
    this.loading = undefined;
    await Promise.all(closers.map((close) => close()));
  }

  private async load(): Promise<Tool[]> {
    const loaded: Tool[] = [];
    for (const source of this.sources) loaded.push(...(await this.loadSource(source)));
    const names = loaded.map((tool) => tool.spec.name);
    const twice = names.filter((name, index) => names.indexOf(name) !== index);
    if (twice.length > 0) throw new ConfigurationError([`two tools of one agent are named ${[...new Set(twice)].join(', ')}: the model could not tell them apart`]);
    return loaded;
  }

  private async loadSource(source: ToolSource): Promise<Tool[]> {
    if ('module' in source) return loadModuleTools(source);
    if ('lambda' in source) return [lambdaTool(source)];
    const connection = await connectMcpTools(source.mcp, { include: source.include });
    this.closers.push(() => connection.close());
    return connection.tools;
  }
}
