import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../functions/core/errors.ts';
import { registerBundledModule } from '../../functions/core/bundled-modules.ts';
import { loadModuleTools } from '../../functions/tools/module-tools.ts';
import { type ToolCallContext, defineTool } from '../../functions/tools/tool.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/tools/', import.meta.url));
const ORDERS = join(FIXTURES, 'orders.ts');
const CATALOGUE = join(FIXTURES, 'catalogue.ts');
const BROKEN = join(FIXTURES, 'broken.ts');

const context = (idempotencyKey = 'key-1'): ToolCallContext => ({ signal: new AbortController().signal, idempotencyKey });

/** Runs `loadModuleTools` and returns the ConfigurationError it must throw. */
async function loadError(source: Parameters<typeof loadModuleTools>[0]): Promise<ConfigurationError> {
  try {
    await loadModuleTools(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error(`expected loadModuleTools(${source.module}) to throw a ConfigurationError`);
}

/**
 * A path no file has, for registerBundledModule: its map lives as long as the module graph, which the
 * unit test files share, so each test registers under a path of its own.
 */
const bundledPath = (): string => join(FIXTURES, 'bundled', `${randomUUID()}.ts`);

describe('Function: loadModuleTools', () => {
  it('loads a named export, whose call runs the definition with the call’s context and gives a JSON value as JSON text', async () => {
    // Act
    const tools = await loadModuleTools({ module: ORDERS, export: 'lookupOrder' });
    const text = await tools[0]?.call({ orderId: 'ORD-7' }, context('step-key'));

    // Assess
    expect(tools).toHaveLength(1);
    expect(tools[0]?.spec).toEqual({
      name: 'lookup_order',
      description: 'The status of one order, by its id.',
      inputSchema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
    });
    expect(typeof text).toBe('string');
    expect(JSON.parse(text ?? '')).toEqual({ orderId: 'ORD-7', status: 'shipped', items: 2, idempotencyKey: 'step-key' });
  });

  it('gives a text return value to the model as it is', async () => {
    // Act
    const [greet] = await loadModuleTools({ module: ORDERS, export: 'greet' });

    // Assess
    await expect(greet?.call({ name: 'Ada' }, context())).resolves.toBe('Hello, Ada!');
  });

  it('gives one tool per definition of a list exported as default, in the list’s order', async () => {
    // Act
    const tools = await loadModuleTools({ module: CATALOGUE });

    // Assess
    expect(tools.map((tool) => tool.spec.name)).toEqual(['list_products', 'product_price']);
    await expect(tools[0]?.call({}, context())).resolves.toBe('["router","sim"]');
    await expect(tools[1]?.call({ product: 'router' }, context())).resolves.toBe('49.5');
    await expect(tools[1]?.call({ product: 'phone' }, context())).resolves.toBe('null');
  });

  it('rejects a module without the export asked for, naming the module and the exports it has', async () => {
    // Act
    const error = await loadError({ module: ORDERS, export: 'lookupOrders' });

    // Assess
    expect(error.message).toContain(ORDERS);
    expect(error.message).toContain('no export "lookupOrders"');
    expect(error.message).toMatch(/\(it exports: .*\)/);
    for (const name of ['lookupOrder', 'greet', 'ORDER_PREFIX']) expect(error.message).toContain(name);
  });

  it('asks for the default export when none is named, and says so when the module has none', async () => {
    // Act
    const error = await loadError({ module: ORDERS });

    // Assess
    expect(error.message).toContain('no export "default"');
  });

  it('rejects a definition with a bad name and no run, naming what it needs and only that', async () => {
    // Act
    const error = await loadError({ module: BROKEN });

    // Assess
    expect(error.message).toContain(`tool ${BROKEN}#default is not a defineTool(...) definition`);
    expect(error.message).toContain('a name of 1-64 letters, digits, _ or -');
    expect(error.message).toContain('a run function');
    expect(error.message).not.toContain('a description');
    expect(error.message).not.toContain('inputSchema');
  });

  it('rejects a list with one broken definition, naming its place in the list', async () => {
    // Act
    const error = await loadError({ module: BROKEN, export: 'mixed' });

    // Assess
    expect(error.message).toContain(`tool ${BROKEN}#mixed[1] is not a defineTool(...) definition`);
    expect(error.message).toContain('a description');
    expect(error.message).toContain('an inputSchema of type "object"');
    expect(error.message).not.toContain('a run function');
  });

  it('rejects an export that is not a definition at all', async () => {
    // Act
    const error = await loadError({ module: ORDERS, export: 'ORDER_PREFIX' });

    // Assess
    expect(error.message).toContain(`tool ${ORDERS}#ORDER_PREFIX is not a defineTool(...) definition`);
    expect(error.message).toContain('a run function');
  });

  it('rejects a path that does not exist, naming the path', async () => {
    // Prepare
    const path = join(FIXTURES, 'does-not-exist.ts');

    // Act
    const error = await loadError({ module: path });

    // Assess
    expect(error.message).toContain(`cannot load tool module ${path}`);
  });
});

describe('Function: registerBundledModule', () => {
  it('makes loadModuleTools use the registered (bundled) module instead of importing its path', async () => {
    // Prepare: nothing exists on disk at this path
    const path = bundledPath();
    registerBundledModule(path, {
      ping: defineTool({ name: 'ping', description: 'Answers pong.', inputSchema: { type: 'object' }, run: () => 'pong' }),
    });

    // Act
    const tools = await loadModuleTools({ module: path, export: 'ping' });

    // Assess
    expect(tools.map((tool) => tool.spec.name)).toEqual(['ping']);
    await expect(tools[0]?.call({}, context())).resolves.toBe('pong');
  });

  it('checks a registered module as an imported one, naming the exports it has', async () => {
    // Prepare
    const path = bundledPath();
    registerBundledModule(path, { lookup: defineTool({ name: 'lookup', description: 'Looks up.', inputSchema: { type: 'object' }, run: () => 'x' }) });

    // Act
    const error = await loadError({ module: path });

    // Assess
    expect(error.message).toContain(`tool module ${path} has no export "default" (it exports: lookup)`);
  });
});
