/**
 * Conformance of the local EventBridge matcher with the AWS documentation. Each table takes its
 * patterns and events from the page cited above it, with events that match and events that do not.
 */
import { describe, expect, it } from 'vitest';
import {
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
  type AnythingBut,
  type EventPattern,
} from '../../local/event-pattern.ts';

interface Case {
  name: string;
  pattern: EventPattern;
  event: unknown;
  matches: boolean;
}

function match(name: string, pattern: EventPattern, event: unknown): Case {
  return { name: `matches ${name}`, pattern, event, matches: true };
}

function noMatch(name: string, pattern: EventPattern, event: unknown): Case {
  return { name: `does not match ${name}`, pattern, event, matches: false };
}

function runCases(cases: Case[]): void {
  it.each(cases)('$name', ({ pattern, event, matches }) => {
    expect(matchesEventPattern(pattern, event)).toBe(matches);
  });
}

/** The Amazon EC2 event of the "Event patterns" page. */
const EC2_EVENT = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** The EC2 event with another `detail`. */
function withDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return { ...EC2_EVENT, detail };
}

/** The Auto Scaling event of "Matching null values and empty strings". */
const AUTOSCALING_EVENT = {
  ...EC2_EVENT,
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

/** The content-filtering examples' event (c-count, d-count, x-limit, source-ip). */
const METRICS_EVENT = withDetail({
  'c-count': 5,
  'd-count': 3,
  'x-limit': 301.8,
  'source-ip': '10.0.0.33',
  'instance-id': 'i-000000aaaaaa00000',
  state: 'running',
});

describe('Function: matchesEventPattern', () => {
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
  describe('exact values', () => {
    const termination: EventPattern = {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    };
    const macie: EventPattern = { source: ['aws.macie'], detail: { 'risk-score': [80], trigger: { risk: [8] } } };
    const macieEvent = { source: 'aws.macie', detail: { 'risk-score': 80, trigger: { risk: 8, 'alert-type': 'basic' } } };

    runCases([
      match('the EC2 instance-termination event, ignoring fields not in the pattern', termination, EC2_EVENT),
      noMatch('another instance state', termination, withDetail({ state: 'running' })),
      noMatch('a value in another case (no case folding)', { 'detail-type': ['ec2 instance state-change notification'] }, EC2_EVENT),
      match('one of several values (a value array is OR)', { source: ['aws.ec2', 'aws.fargate'] }, { source: 'aws.fargate' }),
      noMatch('a value outside the value array', { source: ['aws.ec2', 'aws.fargate'] }, { source: 'aws.s3' }),
      match('numbers at two nesting levels', macie, macieEvent),
      noMatch('a number given as a string', macie, { ...macieEvent, detail: { ...macieEvent.detail, 'risk-score': '80' } }),
      match('null', { detail: { responseElements: [null] } }, AUTOSCALING_EVENT),
      noMatch('an empty string with a null pattern', { detail: { eventVersion: [null] } }, AUTOSCALING_EVENT),
      match('an empty string', { detail: { eventVersion: [''] } }, AUTOSCALING_EVENT),
      noMatch('null with an empty-string pattern', { detail: { responseElements: [''] } }, AUTOSCALING_EVENT),
      match('a boolean', { detail: { enabled: [true] } }, withDetail({ enabled: true })),
      noMatch('the string "true" with a boolean pattern', { detail: { enabled: [true] } }, withDetail({ enabled: 'true' })),
      noMatch('an event without the field', termination, withDetail({ 'instance-id': 'i-1' })),
      noMatch('the field at another nesting level', { detail: { state: ['terminated'] } }, { state: 'terminated' }),
      noMatch('an object where the pattern expects a value', { detail: ['terminated'] }, EC2_EVENT),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
  describe('arrays in events', () => {
    const resources: EventPattern = {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    };
    const asg =
      'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate';

    runCases([
      match('when the pattern and event arrays intersect', resources, {
        resources: [asg, 'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'],
      }),
      noMatch('when they do not intersect', resources, { resources: [asg] }),
      noMatch('an empty event array', resources, { resources: [] }),
      match('a value in an array of arrays', { tags: ['c'] }, { tags: [['a', 'b'], ['c']] }),
    ]);
  });

  // Arrays of objects are not on the AWS pages; this is the behaviour of Event Ruler, the library
  // EventBridge matches with (https://github.com/aws/event-ruler, "JSON Array Matching").
  describe('arrays of objects in events', () => {
    const employees = {
      employees: [
        { firstName: 'John', lastName: 'Doe' },
        { firstName: 'Anna', lastName: 'Smith' },
        { firstName: 'Peter', lastName: 'Jones' },
      ],
    };

    runCases([
      match('a field of one element', { employees: { firstName: ['Anna'] } }, employees),
      match('two fields of the same element', { employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees),
      noMatch('two fields taken from different elements', { employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('prefix', () => {
    const time: EventPattern = { time: [{ prefix: '2017-10-02' }] };
    const service: EventPattern = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };

    runCases([
      match('a time on that day', time, { time: '2017-10-02T18:43:48Z' }),
      noMatch('a time on another day', time, { time: '2017-10-03T18:43:48Z' }),
      match('a US region', { region: [{ prefix: 'us-' }] }, { region: 'us-east-1' }),
      noMatch('a European region', { region: [{ prefix: 'us-' }] }, { region: 'eu-west-1' }),
      noMatch('a number (prefix works on strings)', { detail: { 'c-count': [{ prefix: '5' }] } }, METRICS_EVENT),
      match('another casing with equals-ignore-case', service, withDetail({ service: 'EVENTBRIDGE' })),
      match('the exact casing with equals-ignore-case', service, withDetail({ service: 'EventBridge' })),
      noMatch('another prefix with equals-ignore-case', service, withDetail({ service: 'Event Bridge' })),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('suffix', () => {
    const png: EventPattern = { FileName: [{ suffix: '.png' }] };
    const anyCasePng: EventPattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };
    const tBridge: EventPattern = { service: [{ suffix: { 'equals-ignore-case': 'tBridge' } }] };

    runCases([
      match('a .png file', png, { FileName: 'image.png' }),
      noMatch('a .jpg file', png, { FileName: 'image.jpg' }),
      noMatch('another casing without equals-ignore-case', png, { FileName: 'image.PNG' }),
      match('another casing with equals-ignore-case', anyCasePng, withDetail({ FileName: 'image.PNG' })),
      noMatch('another suffix with equals-ignore-case', anyCasePng, withDetail({ FileName: 'image.jpg' })),
      match('"TBRIDGE" with equals-ignore-case "tBridge"', tBridge, { service: 'EVENTBRIDGE' }),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('equals-ignore-case', () => {
    const alice: EventPattern = { Name: [{ 'equals-ignore-case': 'alice' }] };

    runCases([
      match('"Alice"', alice, { Name: 'Alice' }),
      match('"ALICE"', alice, { Name: 'ALICE' }),
      noMatch('"Alicia"', alice, { Name: 'Alicia' }),
      noMatch('a non-string value', alice, { Name: 7 }),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('anything-but', () => {
    const state = (excluded: AnythingBut): EventPattern => ({ detail: { state: [{ 'anything-but': excluded }] } });
    const notInitializing: EventPattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };
    const notStoppedOrOverloaded: EventPattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };
    const notRoundLimit: EventPattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };
    const ignoreCase: EventPattern = { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } };
    const ignoreCaseList: EventPattern = {
      detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] },
    };
    const notInLib: EventPattern = { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } };
    const notInLibOrBin: EventPattern = { detail: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] } };

    runCases([
      match('another string', notInitializing, withDetail({ state: 'running' })),
      noMatch('the excluded string', notInitializing, withDetail({ state: 'initializing' })),
      noMatch('an event without the field', notInitializing, withDetail({})),
      match('when one element of an event array is not excluded', notInitializing, withDetail({ state: ['initializing', 'running'] })),
      match('another number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, withDetail({ 'x-limit': 456 })),
      noMatch('the excluded number', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, withDetail({ 'x-limit': 123 })),
      match('the excluded number as a string', { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, withDetail({ 'x-limit': '123' })),
      match('a string outside the list', notStoppedOrOverloaded, withDetail({ state: 'running' })),
      noMatch('a string in the list', notStoppedOrOverloaded, withDetail({ state: 'overloaded' })),
      match('a number outside the list', notRoundLimit, METRICS_EVENT),
      noMatch('a number in the list', notRoundLimit, withDetail({ 'x-limit': 200 })),
      match('"Sunny" for anything but ["Raining"]', { Weather: [{ 'anything-but': ['Raining'] }] }, { Weather: 'Sunny' }),
      match('a value without the prefix', state({ prefix: 'init' }), withDetail({ state: 'running' })),
      noMatch('a value with the prefix', state({ prefix: 'init' }), withDetail({ state: 'initializing' })),
      match('a region outside the US', { Region: [{ 'anything-but': { prefix: 'us-' } }] }, { Region: 'eu-west-1' }),
      match('a file without the suffix', { FileName: [{ 'anything-but': { suffix: '.png' } }] }, { FileName: 'data.json' }),
      noMatch('a file with the suffix', { FileName: [{ 'anything-but': { suffix: '.png' } }] }, { FileName: 'image.png' }),
      match('another value, ignoring case', ignoreCase, withDetail({ state: 'running' })),
      noMatch('the excluded value in another casing', ignoreCase, withDetail({ state: 'INITIALIZING' })),
      noMatch('a value of an ignore-case list in another casing', ignoreCaseList, withDetail({ state: 'Stopped' })),
      match('a path outside /lib/', notInLib, withDetail({ FilePath: '/usr/bin/exec' })),
      noMatch('a path inside /lib/', notInLib, withDetail({ FilePath: '/usr/lib/mod.so' })),
      noMatch('a path matching one wildcard of a list', notInLibOrBin, withDetail({ FilePath: '/usr/bin/tool' })),
      match('a path matching no wildcard of a list', notInLibOrBin, withDetail({ FilePath: '/etc/tool' })),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('numeric', () => {
    const counts: EventPattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    const price: EventPattern = { Price: [{ numeric: ['>', 10, '<=', 20] }] };

    runCases([
      match('values inside every range', counts, METRICS_EVENT),
      noMatch('a value on an open lower bound', counts, withDetail({ 'c-count': 0, 'd-count': 3, 'x-limit': 301.8 })),
      noMatch('a value above a closed upper bound', counts, withDetail({ 'c-count': 6, 'd-count': 3, 'x-limit': 301.8 })),
      noMatch('a value on an open upper bound', counts, withDetail({ 'c-count': 5, 'd-count': 10, 'x-limit': 301.8 })),
      noMatch('a value unequal to "="', counts, withDetail({ 'c-count': 5, 'd-count': 3, 'x-limit': 301.9 })),
      match('"=" 100 for Price 100', { Price: [{ numeric: ['=', 100] }] }, { Price: 100 }),
      noMatch('a number in a string', { Price: [{ numeric: ['=', 100] }] }, { Price: '100' }),
      match('a closed upper bound', price, { Price: 20 }),
      noMatch('an open lower bound', price, { Price: 10 }),
      match('a closed lower bound', { Price: [{ numeric: ['>=', 10] }] }, { Price: 10 }),
      match('one element of an event array in range', price, { Price: [1, 15.5] }),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('exists', () => {
    const hasState: EventPattern = { detail: { state: [{ exists: true }] } };
    const noCount: EventPattern = { detail: { 'c-count': [{ exists: false }] } };
    const objectCount = withDetail({ state: ['initializing', 'running'], 'c-count': { c1: 100 } });

    runCases([
      match('a present field with exists: true', hasState, EC2_EVENT),
      noMatch('an absent field with exists: true', hasState, withDetail({ 'c-count': { c1: 100 } })),
      match('an absent field with exists: false', noCount, withDetail({ state: ['initializing', 'running'] })),
      noMatch('a present field with exists: false', noCount, METRICS_EVENT),
      match('an object (not a leaf) with exists: false', noCount, objectCount),
      noMatch('an object (not a leaf) with exists: true', { detail: { 'c-count': [{ exists: true }] } }, objectCount),
      match('an absent parent with exists: false', noCount, { source: 'aws.ec2' }),
      match('ProductName exists', { ProductName: [{ exists: true }] }, { ProductName: 'Widget' }),
      noMatch('ProductName exists, without ProductName', { ProductName: [{ exists: true }] }, { Name: 'Widget' }),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  // and the AWS Compute Blog "Filtering events in Amazon EventBridge with wildcard pattern matching".
  describe('wildcard', () => {
    const pngInDir: EventPattern = { FileName: [{ wildcard: 'dir/*.png' }] };

    runCases([
      match('a .png file in dir', pngInDir, { FileName: 'dir/image.png' }),
      match('a .png file in a subfolder of dir (* crosses /)', pngInDir, { FileName: 'dir/sub/image.png' }),
      noMatch('a .jpg file in dir', pngInDir, { FileName: 'dir/image.jpg' }),
      noMatch('a .png file in another folder', pngInDir, { FileName: 'other/image.png' }),
      match('zero characters for *', { FileName: [{ wildcard: '*.png' }] }, { FileName: '.png' }),
      match('"Title" in the middle', { name: [{ wildcard: '*Title*' }] }, { name: 'A Title here' }),
      noMatch('"title" in another case', { name: [{ wildcard: '*Title*' }] }, { name: 'A title here' }),
      match('Simple*Service', { source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleNotificationService' }),
      match('repeated pieces', { name: [{ wildcard: '*ab*ab' }] }, { name: 'abab' }),
      noMatch('when a middle piece overlaps the last one', { name: [{ wildcard: '*ab*b' }] }, { name: 'ab' }),
      noMatch('when the anchored pieces overlap', { name: [{ wildcard: 'a*a' }] }, { name: 'a' }),
      match('an escaped * as a literal *', { name: [{ wildcard: 'a\\*b' }] }, { name: 'a*b' }),
      noMatch('another character for an escaped *', { name: [{ wildcard: 'a\\*b' }] }, { name: 'axb' }),
      match('an escaped backslash before a *', { path: [{ wildcard: 'C:\\\\*' }] }, { path: 'C:\\Windows' }),
      match('a wildcard without * as an exact value', { name: [{ wildcard: 'abc' }] }, { name: 'abc' }),
      noMatch('a longer value for a wildcard without *', { name: [{ wildcard: 'abc' }] }, { name: 'abcd' }),
      noMatch('a number', { count: [{ wildcard: '*' }] }, { count: 5 }),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('cidr', () => {
    const subnet: EventPattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };
    const ipv6: EventPattern = { detail: { sourceIPAddress: [{ cidr: '2001:db8::/32' }] } };

    runCases([
      match('an address in the range', subnet, withDetail({ sourceIPAddress: '10.0.0.123' })),
      noMatch('an address outside the range', subnet, withDetail({ sourceIPAddress: '10.0.1.5' })),
      noMatch('a string that is no address', subnet, withDetail({ sourceIPAddress: 'not-an-ip' })),
      match('an IPv6 address in the range', ipv6, withDetail({ sourceIPAddress: '2001:db8::1' })),
      noMatch('an IPv6 address outside the range', ipv6, withDetail({ sourceIPAddress: '2001:db9::1' })),
    ]);
  });

  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
  describe('$or', () => {
    const newYorkOrMonday: EventPattern = { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] };
    const anyCount: EventPattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };
    // Nested "Or" and "And", from the Event Ruler README.
    const nested: EventPattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        { scope: ['Service'] },
      ],
    };
    const cloudwatch = { source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' };

    runCases([
      match('the first branch only', newYorkOrMonday, { Location: 'New York', Day: 'Sunday' }),
      match('the second branch only', newYorkOrMonday, { Location: 'Boston', Day: 'Monday' }),
      noMatch('no branch', newYorkOrMonday, { Location: 'Boston', Day: 'Sunday' }),
      match('"Credit" or "Debit" as a value array', { PaymentType: ['Credit', 'Debit'] }, { PaymentType: 'Debit' }),
      noMatch('"Cash" for "Credit" or "Debit"', { PaymentType: ['Credit', 'Debit'] }, { PaymentType: 'Cash' }),
      match('a nested $or through its second branch', anyCount, withDetail({ 'c-count': 0, 'd-count': 3 })),
      noMatch('a nested $or with no branch true', anyCount, withDetail({ 'c-count': 0, 'd-count': 12, 'x-limit': 1 })),
      match('an $or inside an $or branch', nested, { ...cloudwatch, spaceId: 1000 }),
      noMatch('an $or inside an $or branch with neither id', nested, { ...cloudwatch, spaceId: 2000 }),
      noMatch('a true $or when a field beside it fails', nested, { ...cloudwatch, source: 'aws.ec2', scope: 'Service' }),
    ]);
  });

  // The complex example of the content-filtering page.
  describe('several operators together', () => {
    const complex: EventPattern = {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    };
    const detail = { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, state: 'running' };
    const event = { ...withDetail(detail), time: '2017-10-02T16:24:49Z' };

    runCases([
      match('an event that meets every condition', complex, event),
      noMatch('an event that fails one condition', complex, { ...event, detail: { ...detail, 'x-limit': 200 } }),
      match('absent or a given value, with exists: false beside a value', { status: [{ exists: false }, 'done'] }, { status: 'done' }),
    ]);
  });

  // Not spelled out in the AWS pages: what follows from "operators work on leaf nodes".
  describe('choices where the documentation is silent', () => {
    runCases([
      match('null with exists: true (null is a leaf value)', { field: [{ exists: true }] }, { field: null }),
      noMatch('an empty array with exists: true (it has no leaf)', { field: [{ exists: true }] }, { field: [] }),
      match('exists: false below an empty array', { employees: { middleName: [{ exists: false }] } }, { employees: [] }),
      noMatch('a pattern field named like an Object.prototype member', { constructor: [{ exists: true }] }, {}),
      match('a number for anything-but a string', { state: [{ 'anything-but': 'initializing' }] }, { state: 5 }),
    ]);
  });

  it('throws InvalidEventPatternError for a pattern that was not validated', () => {
    const pattern = { detail: { price: [{ numeric: ['>', 0, '<='] }] } } as unknown as EventPattern;

    expect(() => matchesEventPattern(pattern, {})).toThrow(InvalidEventPatternError);
  });
});

describe('Function: validateEventPattern', () => {
  it('returns a valid pattern unchanged', () => {
    const pattern = { source: ['aws.ec2'], $or: [{ a: [1] }, { b: [{ exists: false }] }] };

    expect(validateEventPattern(pattern)).toBe(pattern);
  });

  it('throws an InvalidEventPatternError whose message starts with the path', () => {
    const error = captureError({ detail: { price: [{ numeric: ['>', 0, '<='] }] } });

    expect(error).toBeInstanceOf(InvalidEventPatternError);
    expect(error).toMatchObject({
      name: 'InvalidEventPatternError',
      path: 'detail.price',
      message: 'detail.price: numeric needs pairs of operator and number',
    });
  });

  it.each<[string, unknown, string, string]>([
    ['a non-object pattern', 'aws.ec2', '(root)', 'must be a JSON object'],
    ['an empty pattern', {}, '(root)', 'at least one field'],
    ['an empty nested pattern', { detail: {} }, 'detail', 'at least one field'],
    ['a value that is not in an array', { source: 'aws.ec2' }, 'source', 'an array of values or a nested pattern'],
    ['an empty value array', { source: [] }, 'source', 'empty array'],
    ['a nested array of values', { state: [['a']] }, 'state', 'cannot be nested'],
    ['an unknown operator', { detail: { state: [{ contains: 'x' }] } }, 'detail.state', 'unknown operator "contains"'],
    ['two operators in one object', { state: [{ prefix: 'a', suffix: 'b' }] }, 'state', 'exactly one operator'],
    ['a prefix that is not a string', { state: [{ prefix: 5 }] }, 'state', 'prefix needs a string'],
    ['a suffix with a bad ignore-case', { state: [{ suffix: { 'equals-ignore-case': 5 } }] }, 'state', 'suffix needs'],
    ['exists that is not a boolean', { state: [{ exists: 'yes' }] }, 'state', 'exists needs true or false'],
    ['numeric with an odd length', { detail: { price: [{ numeric: ['>', 0, '<='] }] } }, 'detail.price', 'pairs of operator and number'],
    ['numeric with a string bound', { price: [{ numeric: ['>', '5'] }] }, 'price', 'pairs of operator and number'],
    ['numeric that is empty', { price: [{ numeric: [] }] }, 'price', 'pairs of operator and number'],
    ['an unknown numeric operator', { price: [{ numeric: ['!=', 3] }] }, 'price', 'unknown numeric operator "!="'],
    ['two lower bounds', { price: [{ numeric: ['>', 5, '>=', 1] }] }, 'price', 'one lower bound'],
    ['"=" in a range', { price: [{ numeric: ['=', 5, '<', 10] }] }, 'price', 'one lower bound'],
    ['an empty numeric range', { price: [{ numeric: ['>', 5, '<', 1] }] }, 'price', 'lower bound below its upper bound'],
    ['a numeric range with equal bounds', { price: [{ numeric: ['>=', 5, '<=', 5] }] }, 'price', 'got 5 and 5'],
    ['a mixed anything-but list', { state: [{ 'anything-but': ['a', 1] }] }, 'state', 'only strings or only numbers'],
    ['an empty anything-but list', { state: [{ 'anything-but': [] }] }, 'state', 'only strings or only numbers'],
    ['anything-but with an unknown operator', { state: [{ 'anything-but': { contains: 'a' } }] }, 'state', 'one of prefix'],
    ['anything-but of a boolean', { state: [{ 'anything-but': true }] }, 'state', 'one of prefix'],
    ['anything-but prefix of a number', { state: [{ 'anything-but': { prefix: 1 } }] }, 'state', 'anything-but prefix needs'],
    ['consecutive * in a wildcard', { file: [{ wildcard: 'a**b' }] }, 'file', 'consecutive *'],
    ['consecutive * in an anything-but wildcard', { file: [{ 'anything-but': { wildcard: ['*.png', 'a**'] } }] }, 'file', 'consecutive *'],
    ['a backslash escaping a letter', { file: [{ wildcard: 'a\\b' }] }, 'file', 'may only escape'],
    ['a cidr without a prefix length', { ip: [{ cidr: '10.0.0.0' }] }, 'ip', 'cidr needs an IP range'],
    ['a cidr prefix length too long', { ip: [{ cidr: '10.0.0.0/33' }] }, 'ip', 'cidr needs an IP range'],
    ['$or with one branch', { $or: [{ a: ['x'] }] }, '$or', 'at least two patterns'],
    ['$or that is not an array', { $or: { a: ['x'] } }, '$or', 'at least two patterns'],
    ['a bad field in an $or branch', { $or: [{ a: ['x'] }, { b: 'y' }] }, '$or[1].b', 'an array of values'],
    ['an empty branch in a nested $or', { detail: { $or: [{ a: ['x'] }, {}] } }, 'detail.$or[1]', 'at least one field'],
  ])('rejects %s at its path', (_name, pattern, path, problem) => {
    const error = captureError(pattern);

    expect(error.path).toBe(path);
    expect(error.message).toContain(problem);
    expect(error.message.startsWith(`${path}: `)).toBe(true);
  });
});

function captureError(pattern: unknown): InvalidEventPatternError {
  try {
    validateEventPattern(pattern);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) return error;
    throw error;
  }
  throw new Error('the pattern was accepted');
}
