/**
 * EventBridge in the local runtime: decides whether an event matches a rule's event pattern,
 * following the AWS documentation ("Event patterns", "Comparison operators for use in event
 * patterns", "Arrays in event patterns", "Matching null values and empty strings") so that a rule
 * that routes an event locally routes it the same way in AWS. No AWS call, no I/O.
 *
 * Supported: exact values (string, number, boolean, null), `prefix`, `suffix` (both also with
 * `equals-ignore-case`), `equals-ignore-case`, `wildcard`, `anything-but` (value, list, `prefix`,
 * `suffix`, `equals-ignore-case`, `wildcard`), `numeric`, `exists`, `cidr` (IPv4 and IPv6), `$or`
 * at any level, nested objects and arrays in events.
 *
 * @example
 * ```ts
 * const pattern = validateEventPattern({
 *   source: ['legion.tasks'],
 *   detail: { status: [{ 'anything-but': 'DONE' }], attempts: [{ numeric: ['>=', 3] }] },
 * });
 * matchesEventPattern(pattern, { source: 'legion.tasks', detail: { status: 'FAILED', attempts: 3 } }); // true
 * matchesEventPattern(pattern, { source: 'legion.tasks', detail: { status: 'DONE', attempts: 3 } }); // false
 * ```
 */
import { BlockList, isIP } from 'node:net';

export type NumericOperator = '<' | '<=' | '=' | '>' | '>=';

interface IgnoreCase {
  readonly 'equals-ignore-case': string;
}

/** What `anything-but` may exclude. */
export type AnythingBut =
  | string
  | number
  | readonly string[]
  | readonly number[]
  | { readonly prefix: string | readonly string[] }
  | { readonly suffix: string | readonly string[] }
  | { readonly 'equals-ignore-case': string | readonly string[] }
  | { readonly wildcard: string | readonly string[] };

/** A content filter: an object with exactly one operator. */
export type EventPatternOperator =
  | { readonly prefix: string | IgnoreCase }
  | { readonly suffix: string | IgnoreCase }
  | IgnoreCase
  | { readonly wildcard: string }
  | { readonly 'anything-but': AnythingBut }
  | { readonly numeric: readonly (NumericOperator | number)[] }
  | { readonly exists: boolean }
  | { readonly cidr: string };

/** One element of a field's array: a value to equal, or an operator. */
export type EventPatternMatcher = string | number | boolean | null | EventPatternOperator;

/**
 * An event pattern: each field holds an array of matchers (any of which may match) or a nested
 * pattern; `$or` holds sub-patterns of which at least one must match the same object.
 */
export interface EventPattern {
  readonly $or?: readonly EventPattern[];
  readonly [field: string]: readonly EventPatternMatcher[] | EventPattern | readonly EventPattern[] | undefined;
}

/** A pattern that EventBridge would refuse; `path` names the field, e.g. `detail.price`. */
export class InvalidEventPatternError extends Error {
  public override readonly name = 'InvalidEventPatternError';

  public constructor(
    public readonly path: string,
    public readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

const ROOT_PATH = '(root)';
const OPERATORS = new Set(['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists', 'cidr']);
const ANYTHING_BUT_OPERATORS = new Set(['prefix', 'suffix', 'equals-ignore-case', 'wildcard']);
const LOWER_BOUNDS = new Set<unknown>(['>', '>=']);
const UPPER_BOUNDS = new Set<unknown>(['<', '<=']);

type Scalar = string | number | boolean | null;
type JsonObject = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/** Patterns already validated: a pattern is usually matched against many events. */
const validated = new WeakSet<object>();

/**
 * Whether `event` matches `pattern`. An invalid pattern throws {@link InvalidEventPatternError}
 * rather than silently matching nothing.
 */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  if (!validated.has(pattern)) {
    validateEventPattern(pattern);
    validated.add(pattern);
  }
  return matchesNode(pattern, event);
}

/**
 * An array in the event is crushed out: the pattern matches if one element matches it whole, so
 * two fields are never taken from two different elements of one array.
 */
function matchesNode(pattern: EventPattern, node: unknown): boolean {
  const candidates = Array.isArray(node) ? node.flat(Infinity) : [node];
  if (candidates.length === 0) return matchesFields(pattern, undefined);
  return candidates.some((candidate) => matchesFields(pattern, candidate));
}

function matchesFields(pattern: EventPattern, node: unknown): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    if (field === '$or') return (expected as readonly EventPattern[]).some((branch) => matchesFields(branch, node));
    const child = childOf(node, field);
    if (Array.isArray(expected)) return matchesLeaf(expected as readonly EventPatternMatcher[], leafValues(child));
    return matchesNode(expected as EventPattern, child);
  });
}

/** Own properties only: a pattern field named `constructor` must not find Object's prototype. */
function childOf(node: unknown, field: string): unknown {
  return isObject(node) && Object.hasOwn(node, field) ? node[field] : undefined;
}

/** Exists and every operator see leaves only: an object in the event is not a value. */
function leafValues(value: unknown): Scalar[] {
  if (value === undefined || isObject(value)) return [];
  if (!Array.isArray(value)) return [value as Scalar];
  return value.flat(Infinity).filter((item): item is Scalar => !isObject(item));
}

function matchesLeaf(matchers: readonly EventPatternMatcher[], values: readonly Scalar[]): boolean {
  return matchers.some((matcher) => {
    if (isOperator(matcher) && 'exists' in matcher) return matcher.exists === values.length > 0;
    return values.some((value) => matchesValue(matcher, value));
  });
}

function matchesValue(matcher: EventPatternMatcher, value: Scalar): boolean {
  // Type-sensitive on purpose: "5" is not 5, and "" is not null.
  if (!isOperator(matcher)) return matcher === value;
  if ('anything-but' in matcher) return !isExcluded(matcher['anything-but'], value);
  if ('numeric' in matcher) return typeof value === 'number' && inRange(matcher.numeric, value);
  if (typeof value !== 'string') return false;
  return matchesStringOperator(matcher, value);
}

function matchesStringOperator(matcher: EventPatternOperator, value: string): boolean {
  if ('prefix' in matcher) return matchesAffix(matcher.prefix, value, startsWith);
  if ('suffix' in matcher) return matchesAffix(matcher.suffix, value, endsWith);
  if ('equals-ignore-case' in matcher) return equalsIgnoreCase(matcher['equals-ignore-case'], value);
  if ('wildcard' in matcher) return matchesWildcard(matcher.wildcard, value);
  if ('cidr' in matcher) return inCidr(matcher.cidr, value);
  return false;
}

function isExcluded(excluded: AnythingBut, value: Scalar): boolean {
  if (typeof excluded !== 'object') return excluded === value;
  if (Array.isArray(excluded)) return (excluded as readonly Scalar[]).includes(value);
  if (typeof value !== 'string') return false;
  const [[operator, operands]] = Object.entries(excluded) as [[string, string | readonly string[]]];
  return toList(operands).some((operand) => matchesStringOperator({ [operator]: operand } as EventPatternOperator, value));
}

function matchesAffix(affix: string | IgnoreCase, value: string, test: (value: string, affix: string) => boolean): boolean {
  if (typeof affix === 'string') return test(value, affix);
  return test(value.toLowerCase(), affix['equals-ignore-case'].toLowerCase());
}

function startsWith(value: string, prefix: string): boolean {
  return value.startsWith(prefix);
}

function endsWith(value: string, suffix: string): boolean {
  return value.endsWith(suffix);
}

function equalsIgnoreCase(expected: string, value: string): boolean {
  return expected.toLowerCase() === value.toLowerCase();
}

function inRange(conditions: readonly (NumericOperator | number)[], value: number): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    if (!compare(conditions[i] as NumericOperator, value, conditions[i + 1] as number)) return false;
  }
  return true;
}

function compare(operator: NumericOperator, value: number, bound: number): boolean {
  switch (operator) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '=':
      return value === bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
  }
}

/**
 * Glob with `*` only: the first and last literal pieces are anchored, the ones between are found
 * leftmost-first, which is enough when `*` is the only metacharacter (no backtracking needed).
 */
function matchesWildcard(wildcard: string, value: string): boolean {
  const pieces = wildcardPieces(wildcard);
  const first = pieces[0] ?? '';
  const last = pieces.at(-1) ?? '';
  if (pieces.length === 1) return value === first;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let position = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = value.indexOf(piece, position);
    if (found < 0 || found + piece.length > end) return false;
    position = found + piece.length;
  }
  return true;
}

/** The literal text between unescaped `*`; `\*` and `\\` stand for `*` and `\`. */
function wildcardPieces(wildcard: string): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (let i = 0; i < wildcard.length; i += 1) {
    const char = wildcard.charAt(i);
    if (char === '*') {
      pieces.push(piece);
      piece = '';
    } else {
      // Validation allows only \* and \\, so the escaped character is taken as it is.
      if (char === '\\') i += 1;
      piece += wildcard.charAt(i);
    }
  }
  pieces.push(piece);
  return pieces;
}

function inCidr(cidr: string, value: string): boolean {
  const family = isIP(value);
  const range = parseCidr(cidr);
  if (family === 0 || !range) return false;
  const subnet = new BlockList();
  subnet.addSubnet(range.network, range.bits, range.type);
  return subnet.check(value, family === 4 ? 'ipv4' : 'ipv6');
}

/** `undefined` unless `cidr` is an IPv4 or IPv6 address, a slash and a prefix length it allows. */
function parseCidr(cidr: string): { network: string; bits: number; type: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const family = isIP(match?.[1] ?? '');
  const bits = Number(match?.[2]);
  if (!match?.[1] || family === 0 || bits > (family === 4 ? 32 : 128)) return undefined;
  return { network: match[1], bits, type: family === 4 ? 'ipv4' : 'ipv6' };
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/**
 * Checks that `pattern` is a pattern EventBridge would accept and returns it typed. Throws
 * {@link InvalidEventPatternError} naming the field at fault.
 */
export function validateEventPattern(pattern: unknown): EventPattern {
  validatePattern(pattern, ROOT_PATH);
  return pattern as EventPattern;
}

function validatePattern(pattern: unknown, path: string): void {
  if (!isObject(pattern)) throw new InvalidEventPatternError(path, 'a pattern must be a JSON object');
  // An empty pattern would match every event: in a rule that is a typo, never an intent.
  if (Object.keys(pattern).length === 0) throw new InvalidEventPatternError(path, 'a pattern needs at least one field');
  for (const [field, value] of Object.entries(pattern)) {
    const fieldPath = path === ROOT_PATH ? field : `${path}.${field}`;
    if (field === '$or') validateOr(value, fieldPath);
    else if (Array.isArray(value)) validateLeaf(value, fieldPath);
    else if (isObject(value)) validatePattern(value, fieldPath);
    else throw new InvalidEventPatternError(fieldPath, 'a field needs an array of values or a nested pattern');
  }
}

function validateOr(branches: unknown, path: string): void {
  if (!Array.isArray(branches) || branches.length < 2) {
    throw new InvalidEventPatternError(path, '$or needs an array of at least two patterns');
  }
  branches.forEach((branch, index) => {
    validatePattern(branch, `${path}[${index}]`);
  });
}

function validateLeaf(matchers: readonly unknown[], path: string): void {
  if (matchers.length === 0) throw new InvalidEventPatternError(path, 'an empty array matches nothing');
  for (const matcher of matchers) validateMatcher(matcher, path);
}

function validateMatcher(matcher: unknown, path: string): void {
  if (isScalar(matcher)) {
    if (typeof matcher === 'number' && !Number.isFinite(matcher)) throw new InvalidEventPatternError(path, 'numbers must be finite');
    return;
  }
  if (!isObject(matcher)) throw new InvalidEventPatternError(path, 'arrays cannot be nested in a value list');
  const entries = Object.entries(matcher);
  const [operator, operand] = entries[0] ?? ['', undefined];
  if (entries.length !== 1) throw new InvalidEventPatternError(path, 'an operator object needs exactly one operator');
  if (!OPERATORS.has(operator)) throw new InvalidEventPatternError(path, `unknown operator "${operator}"`);
  validateOperand(operator, operand, path);
}

function validateOperand(operator: string, operand: unknown, path: string): void {
  switch (operator) {
    case 'prefix':
    case 'suffix':
      validateAffix(operator, operand, path);
      return;
    case 'equals-ignore-case':
    case 'cidr':
    case 'wildcard':
      validateStringOperand(operator, operand, path);
      return;
    case 'anything-but':
      validateAnythingBut(operand, path);
      return;
    case 'numeric':
      validateNumeric(operand, path);
      return;
    default:
      if (typeof operand !== 'boolean') throw new InvalidEventPatternError(path, 'exists needs true or false');
  }
}

function validateAffix(operator: string, operand: unknown, path: string): void {
  if (typeof operand === 'string') return;
  const ignoreCase = isObject(operand) && Object.keys(operand).length === 1 ? operand['equals-ignore-case'] : undefined;
  if (typeof ignoreCase !== 'string') {
    throw new InvalidEventPatternError(path, `${operator} needs a string or { "equals-ignore-case": string }`);
  }
}

function validateStringOperand(operator: string, operand: unknown, path: string): void {
  if (typeof operand !== 'string') throw new InvalidEventPatternError(path, `${operator} needs a string`);
  if (operator === 'wildcard') validateWildcard(operand, path);
  if (operator === 'cidr') validateCidr(operand, path);
}

function validateAnythingBut(operand: unknown, path: string): void {
  if (typeof operand === 'string') return;
  if (typeof operand === 'number') {
    if (!Number.isFinite(operand)) throw new InvalidEventPatternError(path, 'numbers must be finite');
    return;
  }
  if (Array.isArray(operand)) {
    validateAnythingButList(operand, path);
    return;
  }
  validateAnythingButOperator(operand, path);
}

function validateAnythingButList(values: readonly unknown[], path: string): void {
  const allStrings = values.every((value) => typeof value === 'string');
  const allNumbers = values.every((value) => typeof value === 'number' && Number.isFinite(value));
  if (values.length === 0 || !(allStrings || allNumbers)) {
    throw new InvalidEventPatternError(path, 'anything-but needs a non-empty list of only strings or only numbers');
  }
}

function validateAnythingButOperator(operand: unknown, path: string): void {
  const entries = isObject(operand) ? Object.entries(operand) : [];
  const [operator, values] = entries[0] ?? ['', undefined];
  if (entries.length !== 1 || !ANYTHING_BUT_OPERATORS.has(operator)) {
    throw new InvalidEventPatternError(
      path,
      'anything-but needs a string, a number, a list, or one of prefix, suffix, equals-ignore-case, wildcard',
    );
  }
  const list: unknown[] = Array.isArray(values) ? values : [values];
  if (list.length === 0 || !list.every((value) => typeof value === 'string')) {
    throw new InvalidEventPatternError(path, `anything-but ${operator} needs a string or a non-empty list of strings`);
  }
  if (operator === 'wildcard') for (const value of list) validateWildcard(value, path);
}

function validateNumeric(operand: unknown, path: string): void {
  const pairs = numericPairs(operand);
  if (!pairs) throw new InvalidEventPatternError(path, 'numeric needs pairs of operator and number');
  for (const [operator] of pairs) {
    if (!isNumericOperator(operator)) throw new InvalidEventPatternError(path, `unknown numeric operator "${String(operator)}"`);
  }
  if (pairs.length === 2) validateNumericRange(pairs, path);
}

/** One comparison or two; `undefined` when the shape is not [op, n] or [op, n, op, n]. */
function numericPairs(operand: unknown): [unknown, number][] | undefined {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) return undefined;
  const pairs: [unknown, number][] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const bound: unknown = operand[i + 1];
    if (typeof operand[i] !== 'string' || typeof bound !== 'number' || !Number.isFinite(bound)) return undefined;
    pairs.push([operand[i], bound]);
  }
  return pairs;
}

function validateNumericRange(pairs: [unknown, number][], path: string): void {
  const lower = pairs.find(([operator]) => LOWER_BOUNDS.has(operator));
  const upper = pairs.find(([operator]) => UPPER_BOUNDS.has(operator));
  if (!lower || !upper) {
    throw new InvalidEventPatternError(path, 'a numeric range needs one lower bound (> or >=) and one upper bound (< or <=)');
  }
  // EventBridge refuses equal bounds too: a single value is written ["=", n].
  if (lower[1] >= upper[1]) {
    throw new InvalidEventPatternError(path, `numeric range needs its lower bound below its upper bound, got ${lower[1]} and ${upper[1]}`);
  }
}

function validateWildcard(wildcard: string, path: string): void {
  for (let i = 0; i < wildcard.length; i += 1) {
    const char = wildcard[i];
    if (char === '*' && wildcard[i + 1] === '*') {
      throw new InvalidEventPatternError(path, 'wildcard cannot have consecutive * characters');
    }
    if (char !== '\\') continue;
    const escaped = wildcard[i + 1];
    if (escaped !== '*' && escaped !== '\\') {
      throw new InvalidEventPatternError(path, 'in a wildcard, \\ may only escape * or \\');
    }
    i += 1;
  }
}

function validateCidr(cidr: string, path: string): void {
  if (!parseCidr(cidr)) throw new InvalidEventPatternError(path, `cidr needs an IP range such as 10.0.0.0/24, got "${cidr}"`);
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function isOperator(matcher: EventPatternMatcher): matcher is EventPatternOperator {
  return typeof matcher === 'object' && matcher !== null;
}

function isNumericOperator(value: unknown): value is NumericOperator {
  return value === '<' || value === '<=' || value === '=' || value === '>' || value === '>=';
}

function toList(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}
