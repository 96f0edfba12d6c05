/**
 * The loop detector and the conflict rule (functions/guards/loop-detector.ts): pure functions, so
 * every case is a history built by hand. Texts are chosen so that their word-set Jaccard index is
 * known exactly (e.g. 4 shared words of 5 distinct ones = 0.8, the NEAR_SAME_SIMILARITY threshold).
 */
import { describe, expect, it } from 'vitest';
import { type HandBack, type LoopLimits, NEAR_SAME_SIMILARITY, ROLE_RANKS, conflictRule, detectLoop, rankOf, similarity } from '../../functions/guards/loop-detector.ts';

const DRAFT = 'Serverless agent teams checkpoint every step, so a crashed run resumes where it stopped.';
const OTHER_DRAFT = 'Quarterly revenue figures for the bakery chain, by region and by product line.';
const FORMAL = 'Rewrite the draft in a formal tone: no chatty asides.';
const SHORTER = 'Cut introduction to two sentences; add sources for each figure.';

/** A hand-back of `from` returning `to`'s work. */
function handBack(from: string, to: string, instruction: string, work: string, afterRuling?: boolean): HandBack {
  return { from, to, instruction, work, ...(afterRuling === undefined ? {} : { afterRuling }) };
}

const LIMITS: LoopLimits = { maxHandBacks: 4, ranks: { researcher: 1, writer: 1, editor: 2, publisher: 1 } };

describe('Function: similarity', () => {
  it('is 1 for the same words, whatever the case, punctuation and repetitions', () => {
    expect(similarity('Hey folks, agents rock!', 'hey folks agents rock')).toBe(1);
    expect(similarity('go go go', 'Go.')).toBe(1);
    expect(similarity('Café CRÈME', 'café crème')).toBe(1);
  });

  it('is the Jaccard index of the word sets: shared words over distinct words', () => {
    // Arrange: {a b c} and {b c d}: 2 shared of 4 distinct.
    const left = 'alpha beta gamma';
    const right = 'beta gamma delta';

    // Act & Assess
    expect(similarity(left, right)).toBe(0.5);
    expect(similarity(right, left)).toBe(0.5);
    expect(similarity('alpha beta gamma delta', 'alpha beta gamma delta epsilon')).toBe(0.8);
    expect(similarity('alpha', 'omega')).toBe(0);
  });

  it('counts two empty texts (or texts without any word) as the same, and an empty text as unlike any other', () => {
    expect(similarity('', '')).toBe(1);
    expect(similarity('  ', '!?, ...')).toBe(1);
    expect(similarity('', 'alpha')).toBe(0);
    expect(similarity('alpha', '---')).toBe(0);
  });

  it('tells numbers apart (they are words too)', () => {
    expect(similarity('grew 23 percent', 'grew 340 percent')).toBe(0.5);
  });
});

describe('Function: rankOf', () => {
  it("takes the agent's own rank when the team sets one", () => {
    expect(rankOf({ role: 'stage', rank: 2 })).toBe(2);
    expect(rankOf({ role: 'supervisor', rank: 1 })).toBe(1);
  });

  it("falls back to the role's rank: supervisor and lead 3, verifier 2, the others 1", () => {
    expect(rankOf({ role: 'supervisor' })).toBe(3);
    expect(rankOf({ role: 'lead', rank: undefined })).toBe(3);
    expect(rankOf({ role: 'verifier' })).toBe(2);
    for (const role of ['worker', 'stage', 'peer', 'bidder'] as const) expect(rankOf({ role })).toBe(1);
    expect(ROLE_RANKS).toEqual({ supervisor: 3, lead: 3, verifier: 2, worker: 1, stage: 1, peer: 1, bidder: 1 });
  });
});

describe('Function: conflictRule', () => {
  it('makes the higher-ranked agent win, whether it handed the work back or received it', () => {
    expect(conflictRule({ from: 'editor', to: 'writer' }, { editor: 2, writer: 1 })).toEqual({ winner: 'editor', loser: 'writer' });
    expect(conflictRule({ from: 'editor', to: 'writer' }, { editor: 1, writer: 3 })).toEqual({ winner: 'writer', loser: 'editor' });
  });

  it('on a tie, makes the agent that handed the work back win', () => {
    expect(conflictRule({ from: 'editor', to: 'writer' }, { editor: 2, writer: 2 })).toEqual({ winner: 'editor', loser: 'writer' });
    expect(conflictRule({ from: 'writer', to: 'editor' }, { editor: 2, writer: 2 })).toEqual({ winner: 'writer', loser: 'editor' });
  });

  it('ranks an agent missing from the ranks 1', () => {
    // Both missing: a tie, the sender wins.
    expect(conflictRule({ from: 'editor', to: 'writer' }, {})).toEqual({ winner: 'editor', loser: 'writer' });
    // The receiver missing (1) against a sender of rank 2, and a sender missing (1) against a receiver of rank 2.
    expect(conflictRule({ from: 'editor', to: 'writer' }, { editor: 2 })).toEqual({ winner: 'editor', loser: 'writer' });
    expect(conflictRule({ from: 'editor', to: 'writer' }, { writer: 2 })).toEqual({ winner: 'writer', loser: 'editor' });
    // A receiver missing (1) does not outrank a sender of rank 1: still the sender.
    expect(conflictRule({ from: 'editor', to: 'writer' }, { editor: 1 })).toEqual({ winner: 'editor', loser: 'writer' });
  });
});

describe('Function: detectLoop', () => {
  describe('no loop', () => {
    it('continues on an empty history', () => {
      expect(detectLoop([], LIMITS)).toEqual({ action: 'continue' });
    });

    it('continues on the first hand-back of a pair', () => {
      expect(detectLoop([handBack('editor', 'writer', FORMAL, DRAFT)], LIMITS)).toEqual({ action: 'continue' });
    });

    it('continues when the same pair hands back again with different work and a different instruction', () => {
      const history = [handBack('editor', 'writer', FORMAL, DRAFT), handBack('editor', 'writer', SHORTER, OTHER_DRAFT)];
      expect(similarity(DRAFT, OTHER_DRAFT)).toBeLessThan(NEAR_SAME_SIMILARITY);
      expect(similarity(FORMAL, SHORTER)).toBeLessThan(NEAR_SAME_SIMILARITY);

      expect(detectLoop(history, LIMITS)).toEqual({ action: 'continue' });
    });

    it('does not count hand-backs of different pairs as an oscillation, even with the same work and instruction', () => {
      const history = [handBack('writer', 'researcher', FORMAL, DRAFT), handBack('editor', 'writer', FORMAL, DRAFT), handBack('publisher', 'editor', FORMAL, DRAFT)];
      expect(detectLoop(history, LIMITS)).toEqual({ action: 'continue' });
    });

    it('compares with the last hand-back of the pair, not with an older one', () => {
      // Arrange: the third hand-back repeats the first, but the second (the last time) was different.
      const history = [
        handBack('editor', 'writer', FORMAL, DRAFT),
        handBack('editor', 'writer', SHORTER, OTHER_DRAFT),
        handBack('editor', 'writer', FORMAL, DRAFT),
      ];

      // Act
      const verdict = detectLoop(history, { ...LIMITS, maxHandBacks: 10 });

      // Assess
      expect(verdict).toEqual({ action: 'continue' });
    });

    it('continues just below the near-same threshold (4 shared words of 6)', () => {
      const history = [handBack('editor', 'writer', 'alpha beta gamma delta', FORMAL), handBack('editor', 'writer', 'alpha beta gamma delta epsilon zeta', SHORTER)];
      expect(detectLoop(history, LIMITS)).toEqual({ action: 'continue' });
    });

    it('ignores afterRuling on an earlier hand-back: only the latest one counts', () => {
      const history = [handBack('editor', 'writer', FORMAL, DRAFT, true), handBack('writer', 'researcher', SHORTER, OTHER_DRAFT, false)];
      expect(detectLoop(history, LIMITS)).toEqual({ action: 'continue' });
    });
  });

  describe('oscillation: the conflict rule', () => {
    it('rules when the receiver handed back the same work again (it did not follow the instruction)', () => {
      // Arrange: a different instruction, the same draft.
      const history = [handBack('editor', 'writer', FORMAL, DRAFT), handBack('editor', 'writer', SHORTER, DRAFT)];

      // Act
      const verdict = detectLoop(history, LIMITS);

      // Assess: the editor (rank 2) outranks the writer (rank 1).
      expect(verdict).toEqual({ action: 'conflict-rule', reason: 'oscillation', winner: 'editor', loser: 'writer', similarity: 1 });
    });

    it('rules when the sender asks the same thing again, however the work changed', () => {
      const history = [handBack('editor', 'writer', FORMAL, DRAFT), handBack('editor', 'writer', `${FORMAL}!`, OTHER_DRAFT)];
      expect(detectLoop(history, LIMITS)).toMatchObject({ action: 'conflict-rule', reason: 'oscillation', similarity: 1 });
    });

    it('reports the higher of the two similarities', () => {
      // Arrange: the work is 0.8 alike (4 shared of 5), the instruction 0.5 (2 shared of 4).
      const history = [
        handBack('editor', 'writer', 'alpha beta gamma', 'one two three four'),
        handBack('editor', 'writer', 'beta gamma delta', 'one two three four five'),
      ];

      // Act
      const verdict = detectLoop(history, LIMITS);

      // Assess: exactly at the threshold counts as near the same.
      expect(verdict).toMatchObject({ action: 'conflict-rule', similarity: NEAR_SAME_SIMILARITY });
    });

    it('counts the reversed pair as the same pair (A hands back to B, then B to A)', () => {
      // Arrange
      const history = [handBack('writer', 'editor', FORMAL, DRAFT), handBack('editor', 'writer', SHORTER, DRAFT)];

      // Act
      const verdict = detectLoop(history, LIMITS);

      // Assess
      expect(verdict).toEqual({ action: 'conflict-rule', reason: 'oscillation', winner: 'editor', loser: 'writer', similarity: 1 });
    });

    it('compares with the same pair only, skipping the hand-backs of other pairs in between', () => {
      const history = [
        handBack('editor', 'writer', FORMAL, DRAFT),
        handBack('writer', 'researcher', SHORTER, OTHER_DRAFT),
        handBack('editor', 'writer', SHORTER, DRAFT),
      ];
      expect(detectLoop(history, { ...LIMITS, maxHandBacks: 10 })).toMatchObject({ action: 'conflict-rule', winner: 'editor', loser: 'writer' });
    });

    it('applies the ranks: a higher-ranked receiver wins, a tie goes to the agent handing back', () => {
      const history = [handBack('publisher', 'editor', FORMAL, DRAFT), handBack('publisher', 'editor', FORMAL, DRAFT)];
      // publisher 1 < editor 2: the receiver wins.
      expect(detectLoop(history, LIMITS)).toMatchObject({ winner: 'editor', loser: 'publisher' });
      // A tie: the publisher, handing back, wins.
      expect(detectLoop(history, { ...LIMITS, ranks: { publisher: 2, editor: 2 } })).toMatchObject({ winner: 'publisher', loser: 'editor' });
    });

    it('ranks agents missing from the ranks 1: a tie, the agent handing back wins', () => {
      const history = [handBack('editor', 'writer', FORMAL, DRAFT), handBack('editor', 'writer', FORMAL, DRAFT)];
      expect(detectLoop(history, { maxHandBacks: 4, ranks: {} })).toMatchObject({ action: 'conflict-rule', winner: 'editor', loser: 'writer' });
      expect(detectLoop(history, { maxHandBacks: 4, ranks: { writer: 2 } })).toMatchObject({ action: 'conflict-rule', winner: 'writer', loser: 'editor' });
    });
  });

  describe('escalation', () => {
    it('escalates when the hand-backs reach the limit, even with a dissimilar hand-back', () => {
      // Arrange: three different pairs (no oscillation), maxHandBacks 3.
      const history = [
        handBack('writer', 'researcher', FORMAL, DRAFT),
        handBack('editor', 'writer', SHORTER, OTHER_DRAFT),
        handBack('publisher', 'editor', 'Add tags.', 'An edited article.'),
      ];

      // Act
      const verdict = detectLoop(history, { ...LIMITS, maxHandBacks: 3 });

      // Assess: no earlier hand-back of the pair, so similarity 0.
      expect(verdict).toEqual({ action: 'escalate', reason: 'limit', similarity: 0 });
    });

    it('does not escalate one hand-back below the limit', () => {
      const history = [handBack('writer', 'researcher', FORMAL, DRAFT), handBack('editor', 'writer', SHORTER, OTHER_DRAFT)];
      expect(detectLoop(history, { ...LIMITS, maxHandBacks: 3 })).toEqual({ action: 'continue' });
    });

    it('reports the similarity with the last hand-back of the pair when the limit is reached', () => {
      const history = [handBack('editor', 'writer', 'alpha beta gamma', DRAFT), handBack('editor', 'writer', 'beta gamma delta', OTHER_DRAFT)];
      expect(detectLoop(history, { ...LIMITS, maxHandBacks: 2 })).toEqual({ action: 'escalate', reason: 'limit', similarity: 0.5 });
    });

    it('escalates at the limit rather than rule on an oscillation', () => {
      const history = [handBack('editor', 'writer', FORMAL, DRAFT), handBack('editor', 'writer', FORMAL, DRAFT)];
      expect(detectLoop(history, { ...LIMITS, maxHandBacks: 2 })).toEqual({ action: 'escalate', reason: 'limit', similarity: 1 });
    });

    it('escalates a hand-back after a ruling on the pair, however dissimilar and far below the limit', () => {
      const history = [
        handBack('editor', 'writer', FORMAL, DRAFT),
        handBack('editor', 'writer', FORMAL, DRAFT),
        handBack('editor', 'writer', SHORTER, OTHER_DRAFT, true),
      ];
      expect(detectLoop(history, { ...LIMITS, maxHandBacks: 100 })).toEqual({ action: 'escalate', reason: 'rule-did-not-end-it', similarity: 0 });
    });

    it('names "rule-did-not-end-it" rather than the limit when both apply', () => {
      const history = [handBack('editor', 'writer', FORMAL, DRAFT), handBack('editor', 'writer', FORMAL, DRAFT, true)];
      expect(detectLoop(history, { ...LIMITS, maxHandBacks: 2 })).toEqual({ action: 'escalate', reason: 'rule-did-not-end-it', similarity: 1 });
    });
  });

  it('is deterministic and leaves the history as it was (a resumed run decides the same way)', () => {
    // Arrange
    const history = Object.freeze([Object.freeze(handBack('editor', 'writer', FORMAL, DRAFT)), Object.freeze(handBack('editor', 'writer', SHORTER, DRAFT))]);
    const copy = structuredClone(history);

    // Act
    const first = detectLoop(history, LIMITS);
    const second = detectLoop(history, LIMITS);

    // Assess
    expect(second).toEqual(first);
    expect(history).toEqual(copy);
  });
});
