/**
 * The metric-math subset of the alarm expressions, over one datapoint per metric id: arithmetic,
 * comparisons, logic, IF and FILL, missing data, and errors that name the position at fault.
 */
import { describe, expect, it } from 'vitest';
import { ALARM_DEFINITIONS } from '../../functions/observability/alarms.ts';
import { MetricMathError, evaluateMetricMath, metricMathIds, parseMetricMath } from '../../functions/observability/metric-math.ts';

describe('Function: evaluateMetricMath', () => {
  describe('Feature: arithmetic', () => {
    it.each([
      ['1 + 2 * 3', 7],
      ['(1 + 2) * 3', 9],
      ['10 / 4', 2.5],
      ['10 - 4 - 3', 3],
      ['-2 + 5', 3],
      ['-(2 + 5)', -7],
      ['2 ^ 3 ^ 2', 512],
      ['-2 ^ 2', -4],
      ['1.5e2 + .5', 150.5],
      ['100 * failures / (written + failures)', 6],
    ])('%s = %d', (expression, expected) => {
      expect(evaluateMetricMath(expression, { written: 47, failures: 3 })).toBeCloseTo(expected, 10);
    });
  });

  describe('Feature: comparisons and logic give 1 or 0', () => {
    it.each([
      ['written > 47', 0],
      ['written >= 47', 1],
      ['written < 48', 1],
      ['written <= 46', 0],
      ['written == 47', 1],
      ['written != 47', 0],
      ['written > 40 AND failures > 2', 1],
      ['written > 40 && failures > 3', 0],
      ['written > 50 OR failures > 2', 1],
      ['written > 50 || failures > 3', 0],
      // Comparisons bind tighter than AND / OR, arithmetic tighter than comparisons.
      ['written + failures >= 50 AND 1 OR 0', 1],
    ])('%s = %d', (expression, expected) => {
      expect(evaluateMetricMath(expression, { written: 47, failures: 3 })).toBe(expected);
    });
  });

  describe('Feature: functions', () => {
    it.each([
      ['IF(written > 10, 1, 2)', 1],
      ['IF(written > 100, 1, 2)', 2],
      ['IF(0, 1, 2)', 2],
      ['FILL(written, 0)', 47],
      ['FILL(gone, 7)', 7],
      ['FILL(gone, written)', 47],
      ['ABS(-3) + CEIL(1.2) + FLOOR(1.8)', 6],
      ['MAX(written, failures)', 47],
      ['MIN([written, failures, gone])', 3],
      ['SUM(METRICS())', 50],
      ['AVG([written, failures])', 25],
      ['SUM(FILL(METRICS(), 10))', 60],
    ])('%s = %d', (expression, expected) => {
      expect(evaluateMetricMath(expression, { written: 47, failures: 3, gone: undefined })).toBe(expected);
    });
  });

  describe('Feature: missing data', () => {
    const values = { written: 20, gone: undefined };

    it.each([
      'gone + 1',
      '-gone',
      'gone > 0',
      'gone AND 1',
      'IF(gone, 1, 2)',
      'IF(written > 100, 1)',
      'FILL(gone, REPEAT)',
      'FILL(gone, LINEAR)',
      'SUM([gone])',
      'written / 0',
      'written / FILL(gone, 0)',
    ])('%s is missing (no datapoint)', (expression) => {
      expect(evaluateMetricMath(expression, values)).toBeUndefined();
    });

    it('a metric with a datapoint is not filled', () => {
      expect(evaluateMetricMath('FILL(written, 0) + FILL(gone, 0)', values)).toBe(20);
    });
  });

  describe('Feature: the alarm definitions\' expressions', () => {
    const withExpressions = ALARM_DEFINITIONS.filter((definition) => definition.expression !== undefined);

    it.each(withExpressions.map((definition) => [definition.name, definition] as const))('%s parses and reads exactly its metrics', (_name, definition) => {
      const ids = definition.metrics.map((metric) => metric.id);
      const expression = definition.expression ?? '';

      expect(metricMathIds(parseMetricMath(expression)).sort()).toEqual([...ids].sort());
      expect(evaluateMetricMath(expression, Object.fromEntries(ids.map((id) => [id, 1])))).toEqual(expect.any(Number));
      // Idle: every metric missing. The expression may fill the gaps; it must not throw.
      expect(() => evaluateMetricMath(expression, Object.fromEntries(ids.map((id) => [id, undefined])))).not.toThrow();
    });
  });

  describe('Feature: errors name the position', () => {
    it.each([
      ['written +', 10, /ends where a value is expected/],
      ['written + * 2', 11, /expected a number/],
      ['(written + 1', 13, /missing "\)" for the "\(" at position 1/],
      ['written 1', 9, /unexpected "1" after a complete expression/],
      ['written % 2', 9, /unexpected character "%"/],
      ['IF(written > 1, 2', 18, /missing "\)"/],
      ['', 1, /empty/],
      ['AND 1', 1, /expected a value before AND/],
      ['written + other', 11, /unknown metric id "other" \(ids: written\)/],
      ['RATE(written)', 1, /unsupported function RATE/],
      ['IF(written)', 1, /IF takes 2 or 3 arguments, got 1/],
      ['FILL(written)', 1, /FILL takes 2 arguments, got 1/],
      ['1 + [written]', 5, /array .* only as the argument/],
    ])('%j: position %d', (expression, position, message) => {
      let thrown: unknown;
      try {
        evaluateMetricMath(expression, { written: 1 });
      } catch (error) {
        thrown = error;
      }

      expect(thrown).toBeInstanceOf(MetricMathError);
      expect((thrown as MetricMathError).position).toBe(position);
      expect((thrown as MetricMathError).message).toMatch(message);
      expect((thrown as MetricMathError).message).toContain(`at position ${position}`);
    });
  });
});
