/**
 * Test support: the test MCP server (mcp-test-server.ts) over stdio, as a child process of the
 * tests. It exits when its stdin closes (nothing else keeps it alive), as an MCP stdio server
 * should. `append_line` appends to the file named by LEGION_TEST_APPEND_FILE; with
 * LEGION_TEST_PID_FILE set, the server writes its process id there as it starts (so a test can
 * check it was stopped even when it never got to call it).
 *
 * @example
 * ```sh
 * node --import tsx test/support/mcp-stdio-server.ts   # from the repository root
 * ```
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { writeFileSync } from 'node:fs';
import { buildMcpTestServer } from './mcp-test-server.ts';

if (process.env.LEGION_TEST_PID_FILE) writeFileSync(process.env.LEGION_TEST_PID_FILE, String(process.pid));

await buildMcpTestServer().connect(new StdioServerTransport());
