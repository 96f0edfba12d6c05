/**
 * Fact checks against a facts table: structured claims, and statistics found in free text (what a
 * pipeline stage or a peer writes). Repetition of a claim is no evidence: a fabricated number stays
 * contradicted however many texts repeat it.
 */
import { describe, expect, it } from 'vitest';
import { calibrateConfidence } from '../../functions/guards/calibrated-confidence.ts';
import { checkClaim, checkTextClaims, extractStatisticClaims, factKeywordsOf, sameFactValue } from '../../functions/guards/fact-check.ts';

const MARKET_FACTS = {
  agentPlatformMarketGrowthPercent: 23,
  agentPlatformMarketSizeUsd: 4_200_000_000,
  readsPerSecond: 1200,
  onCallEngineers: 4,
  dataClassification: 'internal',
};

describe('Function: sameFactValue', () => {
  it.each([
    [' Internal ', 'internal', true],
    ['1200', 1200, true],
    [true, 'TRUE', true],
    [1200, 1201, false],
    ['internal', 'public', false],
  ] as const)('%j and %j match: %s', (left, right, expected) => {
    expect(sameFactValue(left, right)).toBe(expected);
  });
});

describe('Function: checkClaim', () => {
  it('confirms, contradicts, or finds no such fact', () => {
    expect(checkClaim({ fact: 'readsPerSecond', value: '1200' }, MARKET_FACTS)).toEqual({ fact: 'readsPerSecond', claimed: '1200', expected: 1200, status: 'confirmed' });
    expect(checkClaim({ fact: 'readsPerSecond', value: 9000 }, MARKET_FACTS).status).toBe('contradicted');
    expect(checkClaim({ fact: 'writesPerSecond', value: 15 }, MARKET_FACTS)).toEqual({ fact: 'writesPerSecond', claimed: 15, expected: null, status: 'unknown-fact' });
  });

  it('does not take an inherited property for a fact', () => {
    expect(checkClaim({ fact: 'toString', value: 'x' }, MARKET_FACTS).status).toBe('unknown-fact');
  });
});

describe('Function: extractStatisticClaims', () => {
  it('finds percentages, scaled amounts with a currency, and rates, with their sentence', () => {
    const text = 'The agent platform market grew 340% last year, to $4.2 billion. Checkout serves 1,200 reads per second at peak.';
    const claims = extractStatisticClaims(text);

    expect(claims.map((claim) => [claim.text, claim.value, claim.unit])).toEqual([
      ['340%', 340, 'percent'],
      ['$4.2 billion', 4_200_000_000, 'currency'],
      ['1,200 reads per second', 1200, 'reads per second'],
    ]);
    expect(claims[2]?.sentence).toBe('Checkout serves 1,200 reads per second at peak.');
  });

  it('finds units of time and data, "percent" in words, and scale words', () => {
    const claims = extractStatisticClaims('p99 latency is 45 ms; the cache holds 12 GB. Adoption rose 12.5 percent among 3 million developers in 2024.');

    expect(claims.map((claim) => [claim.text, claim.value])).toEqual([
      ['45 ms', 45],
      ['12 GB', 12],
      ['12.5 percent', 12.5],
      ['3 million', 3_000_000],
    ]);
  });

  it('ignores bare numbers: years, versions, counts without a unit', () => {
    expect(extractStatisticClaims('In 2024 we moved 3 services to Node 20 and Q3 went well.')).toEqual([]);
  });

  it('states the precision written: half a unit of the last digit, scaled', () => {
    const [whole, decimal, scaled] = extractStatisticClaims('It grew 23% (or 23.4%) to 1.2 million users.');

    expect([whole?.tolerance, decimal?.tolerance, scaled?.tolerance]).toEqual([0.5, 0.05, 50_000]);
  });
});

describe('Function: factKeywordsOf', () => {
  it.each([
    ['agentPlatformMarketGrowthPercent', ['agent', 'platform', 'market', 'growth']],
    ['readsPerSecond', ['reads']],
    ['stalenessBudgetSeconds', ['staleness', 'budget']],
    ['p99_latency-ms', ['p', 'latency']],
  ])('%s is about %j', (fact, keywords) => {
    expect(factKeywordsOf(fact)).toEqual(keywords);
  });
});

describe('Function: checkTextClaims', () => {
  it('contradicts a fabricated market statistic and confirms a true one in the same text', () => {
    const text = 'Our research shows the agent platform market grew 340% last year, reaching $4.2 billion.';
    const checks = checkTextClaims(text, MARKET_FACTS);

    expect(checks).toEqual([
      { fact: 'agentPlatformMarketGrowthPercent', claimed: 340, expected: 23, status: 'contradicted', statistic: '340%', sentence: text },
      { fact: 'agentPlatformMarketSizeUsd', claimed: 4_200_000_000, expected: 4_200_000_000, status: 'confirmed', statistic: '$4.2 billion', sentence: text },
    ]);
  });

  it('confirms a statistic stated to a coarser precision than the fact', () => {
    const [check] = checkTextClaims('The agent platform market grew about 23% in 2024.', { agentPlatformMarketGrowthPercent: 23.4 });

    expect(check?.status).toBe('confirmed');
  });

  it('matches a percent only with a percent fact, and a rate by its unit words', () => {
    const checks = checkTextClaims('At 1,200 reads per second, 4 on-call engineers handle a 23% growth of the market.', MARKET_FACTS);

    expect(checks.map((check) => [check.statistic, check.fact, check.status])).toEqual([
      ['1,200 reads per second', 'readsPerSecond', 'confirmed'],
      ['23%', 'agentPlatformMarketGrowthPercent', 'confirmed'],
    ]);
  });

  it('reports a statistic no fact matches as unknown-fact, named by the words the text used', () => {
    const [check] = checkTextClaims('Churn among enterprise buyers fell 8% this quarter.', MARKET_FACTS);

    expect(check).toMatchObject({ fact: 'among enterprise buyers fell 8%', claimed: 8, expected: null, status: 'unknown-fact' });
  });

  it('takes the keywords a caller gives for a fact instead of its name', () => {
    const text = 'Agentic tooling spend rose 340% year on year.';

    expect(checkTextClaims(text, { agentPlatformMarketGrowthPercent: 23 })[0]?.status).toBe('unknown-fact');
    expect(checkTextClaims(text, { agentPlatformMarketGrowthPercent: 23 }, { agentPlatformMarketGrowthPercent: ['agentic', 'tooling', 'spend'] })[0]).toMatchObject({
      fact: 'agentPlatformMarketGrowthPercent',
      status: 'contradicted',
    });
  });

  it('keeps a fabricated number contradicted however many agents repeat it, and agreement does not calibrate it up', () => {
    const texts = [
      'Market research: the agent platform market grew 340% last year.',
      'Building on that research, with the agent platform market up 340%, we should invest now.',
      'Given 340% growth of the agent platform market, the budget should double.',
    ];
    const checks = texts.flatMap((text) => checkTextClaims(text, MARKET_FACTS));

    expect(checks.map((check) => [check.fact, check.status])).toEqual(Array.from({ length: 3 }, () => ['agentPlatformMarketGrowthPercent', 'contradicted']));
    const unanimous = calibrateConfidence({ checks, supporters: texts.length, voters: texts.length });
    const lone = calibrateConfidence({ checks: checks.slice(0, 1), supporters: 1, voters: texts.length });
    expect(unanimous).toMatchObject({ agreement: 1, calibrated: 0, verified: false, detection: true });
    expect(lone).toMatchObject({ calibrated: 0, detection: false });
  });

  it('ignores text and boolean facts, and a text without statistics', () => {
    expect(checkTextClaims('The data is internal and encrypted at rest.', { dataClassification: 'internal', encrypted: true })).toEqual([]);
  });
});
