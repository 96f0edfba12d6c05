/**
 * The CloudWatch metric-math subset Legion's alarm expressions use (functions/observability/alarms.ts),
 * parsed and evaluated over one datapoint per metric id: what the local runtime needs to evaluate
 * the same alarms offline (local/local-alarms.ts). No CDK import, no AWS call.
 *
 * Supported: numbers (`5`, `0.5`, `1e3`), metric ids (`written`: a lower-case letter first, as
 * CloudWatch requires), `+ - * / ^`, unary minus, comparisons `> >= < <= == !=` (1 or 0), `AND` /
 * `&&`, `OR` / `||`, parentheses, arrays `[a, b]`, and the functions `IF(cond, a[, b])`,
 * `FILL(x, value | REPEAT | LINEAR)`, `ABS`, `CEIL`, `FLOOR`, `MIN`, `MAX`, `SUM`, `AVG` and
 * `METRICS()`. Anything else is refused with a {@link MetricMathError} naming its position.
 *
 * Missing data (a metric without a datapoint in the period) is `undefined`, as CloudWatch leaves a
 * gap in the series: arithmetic, comparisons and logic on it give `undefined`; `FILL(x, v)` turns it
 * into `v`; `IF` with a missing condition is missing, and `IF(cond, a)` is missing where `cond` is
 * false. A result that is not a finite number (a division by zero) is missing too: CloudWatch drops
 * such a datapoint. `FILL(x, REPEAT)` and `FILL(x, LINEAR)` have no earlier datapoint to fill from
 * in a single period: they leave the gap.
 *
 * @example
 * ```ts
 * evaluateMetricMath('IF(FILL(started, 0) > 0, 100 * FILL(exceeded, 0) / FILL(started, 0), 0)', { started: 200, exceeded: undefined }); // 0
 * evaluateMetricMath('100 * failures / (written + failures)', { written: 47, failures: 3 }); // 6
 * evaluateMetricMath('written +', { written: 1 }); // throws MetricMathError: ... at position 10 ...
 * ```
 */
import { LegionError } from '../core/errors.ts';

/** One datapoint per metric id; `undefined`: no data in the period. */
export type MetricMathValues = Readonly<Record<string, number | undefined>>;

export type MetricMathBinaryOperator = '+' | '-' | '*' | '/' | '^' | '>' | '>=' | '<' | '<=' | '==' | '!=' | 'AND' | 'OR';

/** A parsed expression. `position` is where its text starts (1-based), for errors. */
export type MetricMathNode =
  | { readonly kind: 'number'; readonly value: number; readonly position: number }
  | { readonly kind: 'id'; readonly name: string; readonly position: number }
  | { readonly kind: 'negate'; readonly operand: MetricMathNode; readonly position: number }
  | { readonly kind: 'binary'; readonly operator: MetricMathBinaryOperator; readonly left: MetricMathNode; readonly right: MetricMathNode; readonly position: number }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly MetricMathNode[]; readonly position: number }
  | { readonly kind: 'array'; readonly items: readonly MetricMathNode[]; readonly position: number };

/** A metric-math expression that cannot be parsed or evaluated: `position` (1-based) is where. */
export class MetricMathError extends LegionError {
  public constructor(
    public readonly expression: string,
    public readonly position: number,
    public readonly problem: string,
  ) {
    super(`Metric math "${expression}", at position ${position}: ${problem}`, { expression, position, problem });
  }
}

/** The functions evaluated offline. */
export const METRIC_MATH_FUNCTIONS = ['IF', 'FILL', 'ABS', 'CEIL', 'FLOOR', 'MIN', 'MAX', 'SUM', 'AVG', 'METRICS'] as const;

/** FILL's keywords that fill from other datapoints of the series. */
const FILL_KEYWORDS = new Set(['REPEAT', 'LINEAR']);

type Token =
  | { kind: 'number'; value: number; position: number; text: string }
  | { kind: 'word'; text: string; position: number }
  | { kind: 'symbol'; text: string; position: number }
  | { kind: 'end'; position: number; text: '' };

const SYMBOLS = ['>=', '<=', '==', '!=', '&&', '||', '+', '-', '*', '/', '^', '>', '<', '(', ')', '[', ']', ','];

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < expression.length) {
    const rest = expression.slice(index);
    const space = /^\s+/.exec(rest);
    if (space) {
      index += space[0].length;
      continue;
    }
    const position = index + 1;
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), position, text: number[0] });
      index += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      tokens.push({ kind: 'word', text: word[0], position });
      index += word[0].length;
      continue;
    }
    const symbol = SYMBOLS.find((candidate) => rest.startsWith(candidate));
    if (!symbol) throw new MetricMathError(expression, position, `unexpected character "${rest.charAt(0)}"`);
    tokens.push({ kind: 'symbol', text: symbol, position });
    index += symbol.length;
  }
  tokens.push({ kind: 'end', position: expression.length + 1, text: '' });
  return tokens;
}

/** Binary operators by precedence, loosest first; `^` binds tightest and to the right. */
const PRECEDENCE: readonly (readonly string[])[] = [['OR', '||'], ['AND', '&&'], ['>', '>=', '<', '<=', '==', '!='], ['+', '-'], ['*', '/']];

const CANONICAL: Readonly<Record<string, MetricMathBinaryOperator>> = { '||': 'OR', '&&': 'AND' };

class Parser {
  private index = 0;

  public constructor(
    private readonly expression: string,
    private readonly tokens: readonly Token[],
  ) {}

  public parseAll(): MetricMathNode {
    if (this.peek().kind === 'end') throw this.error(this.peek(), 'the expression is empty');
    const node = this.parseBinary(0);
    const next = this.peek();
    if (next.kind !== 'end') throw this.error(next, `unexpected "${next.text}" after a complete expression`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { kind: 'end', position: this.expression.length + 1, text: '' };
  }

  private take(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index += 1;
    return token;
  }

  private isOperator(token: Token, operators: readonly string[]): boolean {
    return (token.kind === 'symbol' || token.kind === 'word') && operators.includes(token.text);
  }

  private parseBinary(level: number): MetricMathNode {
    const operators = PRECEDENCE[level];
    if (!operators) return this.parseUnary();
    let left = this.parseBinary(level + 1);
    while (this.isOperator(this.peek(), operators)) {
      const token = this.take();
      const right = this.parseBinary(level + 1);
      left = { kind: 'binary', operator: CANONICAL[token.text] ?? (token.text as MetricMathBinaryOperator), left, right, position: token.position };
    }
    return left;
  }

  private parseUnary(): MetricMathNode {
    const token = this.peek();
    if (token.kind === 'symbol' && (token.text === '-' || token.text === '+')) {
      this.take();
      const operand = this.parseUnary();
      return token.text === '-' ? { kind: 'negate', operand, position: token.position } : operand;
    }
    return this.parsePower();
  }

  private parsePower(): MetricMathNode {
    const base = this.parsePrimary();
    const token = this.peek();
    if (token.kind === 'symbol' && token.text === '^') {
      this.take();
      // Right-associative, and `2 ^ -1` is allowed.
      return { kind: 'binary', operator: '^', left: base, right: this.parseUnary(), position: token.position };
    }
    return base;
  }

  private parsePrimary(): MetricMathNode {
    const token = this.take();
    if (token.kind === 'number') return { kind: 'number', value: token.value, position: token.position };
    if (token.kind === 'word') {
      if (this.isOperator(token, ['AND', 'OR'])) throw this.error(token, `expected a value before ${token.text}`);
      const next = this.peek();
      if (next.kind === 'symbol' && next.text === '(') {
        this.take();
        const args = this.parseList(')');
        return { kind: 'call', name: token.text, args, position: token.position };
      }
      return { kind: 'id', name: token.text, position: token.position };
    }
    if (token.kind === 'symbol' && token.text === '(') {
      const inner = this.parseBinary(0);
      this.expect(')', token);
      return inner;
    }
    if (token.kind === 'symbol' && token.text === '[') {
      return { kind: 'array', items: this.parseList(']'), position: token.position };
    }
    if (token.kind === 'end') throw this.error(token, 'the expression ends where a value is expected');
    throw this.error(token, `expected a number, a metric id, a function or "(", got "${token.text}"`);
  }

  /** Comma-separated expressions up to `close` (the opening bracket is taken). */
  private parseList(close: ')' | ']'): MetricMathNode[] {
    const items: MetricMathNode[] = [];
    const first = this.peek();
    if (first.kind === 'symbol' && first.text === close) {
      this.take();
      return items;
    }
    for (;;) {
      items.push(this.parseBinary(0));
      const next = this.take();
      if (next.kind === 'symbol' && next.text === close) return items;
      if (!(next.kind === 'symbol' && next.text === ',')) throw this.error(next, next.kind === 'end' ? `missing "${close}"` : `expected "," or "${close}", got "${next.text}"`);
    }
  }

  private expect(text: string, opening: Token): void {
    const token = this.take();
    if (token.kind === 'symbol' && token.text === text) return;
    throw this.error(token, token.kind === 'end' ? `missing "${text}" for the "${opening.text}" at position ${opening.position}` : `expected "${text}", got "${token.text}"`);
  }

  private error(token: Token, problem: string): MetricMathError {
    return new MetricMathError(this.expression, token.position, problem);
  }
}

/**
 * Parses an expression.
 *
 * @throws {MetricMathError} naming the position of the first problem
 * @example
 * ```ts
 * metricMathIds(parseMetricMath('FILL(written, 0) + failures')); // ['written', 'failures']
 * ```
 */
export function parseMetricMath(expression: string): MetricMathNode {
  return new Parser(expression, tokenize(expression)).parseAll();
}

/** The metric ids an expression reads, in order of first use (FILL's keywords are not ids). */
export function metricMathIds(node: MetricMathNode): string[] {
  const ids = new Set<string>();
  const visit = (current: MetricMathNode, fillArgument = false): void => {
    switch (current.kind) {
      case 'id':
        if (!(fillArgument && FILL_KEYWORDS.has(current.name))) ids.add(current.name);
        return;
      case 'negate':
        visit(current.operand);
        return;
      case 'binary':
        visit(current.left);
        visit(current.right);
        return;
      case 'call':
        current.args.forEach((arg, index) => {
          visit(arg, current.name === 'FILL' && index === 1);
        });
        return;
      case 'array':
        current.items.forEach((item) => {
          visit(item);
        });
        return;
      case 'number':
        return;
    }
  };
  visit(node);
  return [...ids];
}

/** A value during evaluation: a datapoint (or a gap), or an array of them (`[a, b]`, `METRICS()`). */
type Evaluated = number | undefined | { readonly series: readonly (number | undefined)[] };

function isSeries(value: Evaluated): value is { readonly series: readonly (number | undefined)[] } {
  return typeof value === 'object';
}

/** A gap for anything that is not a finite number (CloudWatch drops those datapoints). */
function finite(value: number): number | undefined {
  return Number.isFinite(value) ? value : undefined;
}

const ARITHMETIC: Readonly<Record<MetricMathBinaryOperator, (left: number, right: number) => number>> = {
  '+': (left, right) => left + right,
  '-': (left, right) => left - right,
  '*': (left, right) => left * right,
  '/': (left, right) => left / right,
  '^': (left, right) => left ** right,
  '>': (left, right) => Number(left > right),
  '>=': (left, right) => Number(left >= right),
  '<': (left, right) => Number(left < right),
  '<=': (left, right) => Number(left <= right),
  '==': (left, right) => Number(left === right),
  '!=': (left, right) => Number(left !== right),
  AND: (left, right) => Number(left !== 0 && right !== 0),
  OR: (left, right) => Number(left !== 0 || right !== 0),
};

const AGGREGATES: Readonly<Record<string, (values: readonly number[]) => number>> = {
  MIN: (values) => Math.min(...values),
  MAX: (values) => Math.max(...values),
  SUM: (values) => values.reduce((total, value) => total + value, 0),
  AVG: (values) => values.reduce((total, value) => total + value, 0) / values.length,
};

const ROUNDING: Readonly<Record<string, (value: number) => number>> = { ABS: Math.abs, CEIL: Math.ceil, FLOOR: Math.floor };

class Evaluator {
  public constructor(
    private readonly expression: string,
    private readonly values: MetricMathValues,
  ) {}

  public scalar(node: MetricMathNode): number | undefined {
    const value = this.evaluate(node);
    if (isSeries(value)) throw this.error(node, 'an array (of metrics) is allowed only as the argument of MIN, MAX, SUM, AVG or FILL');
    return value;
  }

  private evaluate(node: MetricMathNode): Evaluated {
    switch (node.kind) {
      case 'number':
        return node.value;
      case 'id':
        if (!Object.hasOwn(this.values, node.name)) {
          const known = Object.keys(this.values);
          throw this.error(node, `unknown metric id "${node.name}" (ids: ${known.length > 0 ? known.join(', ') : 'none'})`);
        }
        return this.values[node.name];
      case 'negate': {
        const operand = this.scalar(node.operand);
        return operand === undefined ? undefined : -operand;
      }
      case 'binary': {
        const left = this.scalar(node.left);
        const right = this.scalar(node.right);
        return left === undefined || right === undefined ? undefined : finite(ARITHMETIC[node.operator](left, right));
      }
      case 'array':
        return { series: node.items.map((item) => this.scalar(item)) };
      case 'call':
        return this.call(node);
    }
  }

  private call(node: Extract<MetricMathNode, { kind: 'call' }>): Evaluated {
    const { name, args } = node;
    if (name === 'IF') {
      this.arity(node, 2, 3);
      const condition = this.scalar(args[0] as MetricMathNode);
      if (condition === undefined) return undefined;
      const chosen = condition !== 0 ? args[1] : args[2];
      return chosen === undefined ? undefined : this.scalar(chosen);
    }
    if (name === 'FILL') {
      this.arity(node, 2, 2);
      const filling = args[1] as MetricMathNode;
      const target = this.evaluate(args[0] as MetricMathNode);
      // REPEAT and LINEAR fill from the series' other datapoints: one period has none.
      const fill = filling.kind === 'id' && FILL_KEYWORDS.has(filling.name) ? undefined : this.scalar(filling);
      return isSeries(target) ? { series: target.series.map((value) => value ?? fill) } : (target ?? fill);
    }
    if (name === 'METRICS') {
      if (args.length > 0) throw this.error(node, 'METRICS takes no argument offline (METRICS() is every metric of the alarm)');
      return { series: Object.values(this.values) };
    }
    const rounding = ROUNDING[name];
    if (rounding) {
      this.arity(node, 1, 1);
      const value = this.evaluate(args[0] as MetricMathNode);
      return isSeries(value) ? { series: value.series.map((item) => (item === undefined ? undefined : rounding(item))) } : value === undefined ? undefined : rounding(value);
    }
    const aggregate = AGGREGATES[name];
    if (aggregate) {
      this.arity(node, 1, Number.POSITIVE_INFINITY);
      // Over one period, MAX(m) of one series and MAX([m1, m2]) of several both come to the datapoints' aggregate.
      const present = args
        .flatMap((arg) => {
          const value = this.evaluate(arg);
          return isSeries(value) ? value.series : [value];
        })
        .filter((value): value is number => value !== undefined);
      return present.length === 0 ? undefined : finite(aggregate(present));
    }
    throw this.error(node, `unknown or unsupported function ${name} (supported offline: ${METRIC_MATH_FUNCTIONS.join(', ')})`);
  }

  private arity(node: Extract<MetricMathNode, { kind: 'call' }>, min: number, max: number): void {
    const count = node.args.length;
    if (count >= min && count <= max) return;
    const expected = min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min} or ${max}`;
    throw this.error(node, `${node.name} takes ${expected} argument${min === 1 && max === 1 ? '' : 's'}, got ${count}`);
  }

  private error(node: MetricMathNode, problem: string): MetricMathError {
    return new MetricMathError(this.expression, node.position, problem);
  }
}

/**
 * Evaluates an expression over one datapoint per metric id (`undefined` for a metric without data).
 *
 * @returns the datapoint, or `undefined` when the result is missing (no data)
 * @throws {MetricMathError} for a bad expression, an unknown id or function, or an array where a number is expected
 * @example
 * ```ts
 * evaluateMetricMath('FILL(failures, 0) * 2', { failures: undefined }); // 0
 * evaluateMetricMath('failures * 2', { failures: undefined }); // undefined: no data
 * ```
 */
export function evaluateMetricMath(expression: string, values: MetricMathValues): number | undefined {
  return new Evaluator(expression, values).scalar(parseMetricMath(expression));
}
