/**
 * Test support: the test MCP server (mcp-test-server.ts) over stdio, as a child process of the
 * tests. It exits when its stdin closes (nothing else keeps it alive), as an MCP stdio server
 * should. `append_line` appends to the file named by LEGION_TEST_APPEND_FILE.
 *
 * @example
 * ```sh
 * node --import tsx test/support/mcp-stdio-server.ts   # from the repository root
 * ```
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { buildMcpTestServer } from './mcp-test-server.ts';

await buildMcpTestServer().connect(new StdioServerTransport());
