/**
 * What a checkpoint costs on DynamoDB on-demand: item sizes as DynamoDB counts them, request
 * units per save, and the published price per unit. An estimate: the real bill also depends on
 * the region, the table class, free tier, savings plans and storage.
 *
 * @example
 * ```ts
 * const wru = saveWriteUnits({ checkpointBytes: 1900, headBytes: 60, markerBytes: 50 }); // 1 + 2 * (2 + 1)
 * const usd = requestCostUsd({ writeUnits: wru, readUnits: 1 });
 * ```
 */

/**
 * On-demand prices of the DynamoDB Standard table class in US East (N. Virginia), from
 * https://aws.amazon.com/dynamodb/pricing/on-demand/ (the rates in force since the
 * November 2024 price reduction). Check the page before quoting them; other regions differ.
 */
export const ON_DEMAND_PRICE = {
  region: 'us-east-1',
  tableClass: 'Standard',
  usdPerMillionWriteUnits: 0.625,
  usdPerMillionReadUnits: 0.125,
  usdPerGbMonth: 0.25,
  source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
} as const;

/** A standard write is billed per started KB of the item; a transactional write costs twice that. */
export function writeUnits(itemBytes: number, transactional = false): number {
  const units = Math.max(1, Math.ceil(itemBytes / 1024));
  return transactional ? 2 * units : units;
}

export interface SaveSizes {
  /** The checkpoint item. */
  checkpointBytes: number;
  /** The task's head item after its sequence was raised. */
  headBytes: number;
  /** The step marker; only a save with a `stepKey` writes one. */
  markerBytes?: number | undefined;
}

/**
 * Write units of one `CheckpointManager.save`: an UpdateItem on the head item, then a PutItem of
 * the checkpoint, or (with a stepKey) a TransactWriteItems of the checkpoint and its marker.
 */
export function saveWriteUnits(sizes: SaveSizes): number {
  const head = writeUnits(sizes.headBytes);
  if (sizes.markerBytes === undefined) return head + writeUnits(sizes.checkpointBytes);
  return head + writeUnits(sizes.checkpointBytes, true) + writeUnits(sizes.markerBytes, true);
}

export function requestCostUsd(units: { writeUnits: number; readUnits: number }): number {
  return (
    (units.writeUnits * ON_DEMAND_PRICE.usdPerMillionWriteUnits + units.readUnits * ON_DEMAND_PRICE.usdPerMillionReadUnits) / 1_000_000
  );
}

/** Storage cost of keeping `bytes` for `days` (30-day month, 10^9-byte GB as AWS bills). */
export function storageCostUsd(bytes: number, days: number): number {
  return (bytes / 1e9) * ON_DEMAND_PRICE.usdPerGbMonth * (days / 30);
}

/**
 * Size of an item as DynamoDB counts it: attribute names plus values (strings and binary by
 * length, numbers about one byte per two significant digits plus one, booleans and null one byte,
 * lists and maps 3 bytes plus one per element plus their contents).
 */
export function itemBytes(item: Readonly<Record<string, unknown>>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += Buffer.byteLength(name) + valueBytes(value);
  return total;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'boolean' || value === null || value === undefined) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, element: unknown) => sum + 1 + valueBytes(element), 0);
  if (value instanceof Set) return [...value].reduce((sum: number, element: unknown) => sum + valueBytes(element), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value).reduce((sum, [name, element]: [string, unknown]) => sum + 1 + Buffer.byteLength(name) + valueBytes(element), 0);
  }
  throw new TypeError(`cannot size a ${typeof value}`);
}

function numberBytes(value: number): number {
  const digits = Math.abs(value)
    .toExponential()
    .replace(/e.*$/, '')
    .replace('.', '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}
