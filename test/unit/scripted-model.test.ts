import { beforeAll, describe, expect, it } from 'vitest';
import type { ConversationMessage, ModelRequest, ScriptCandidate, ScriptHint, ToolSpec } from '../../functions/models/model-provider.ts';
import { ScriptedModel, estimateRequestTokens, estimateTokens, matchIntents } from '../../functions/models/scripted-model.ts';
import { rosterOf, loadTelecomTeam } from '../support/telecom.ts';

function requestWith(script: ScriptHint, system = 'You are a test agent.', prompt = 'Prompt text.'): ModelRequest {
  return { modelTier: 'fast', system, prompt, maxTokens: 100, script };
}

async function classifyWith(request: string, candidates: readonly ScriptCandidate[]): Promise<unknown> {
  const reply = await new ScriptedModel().converse(requestWith({ kind: 'classify', request, candidates }));
  return JSON.parse(reply.text);
}

describe('Class: ScriptedModel', () => {
  let telecom: ScriptCandidate[];

  beforeAll(async () => {
    telecom = rosterOf(await loadTelecomTeam());
  });

  describe('Method: converse (classify)', () => {
    it('finds a single intent', async () => {
      // Act
      const answer = await classifyWith('My invoice shows a charge I do not recognise.', telecom);

      // Assess
      expect(answer).toEqual({ intents: ['billing'] });
    });

    it('finds several intents, in roster order whatever the order of mention', async () => {
      // Act
      const answer = await classifyWith('I want to cancel my contract: the wifi drops and I was overcharged.', telecom);

      // Assess
      expect(answer).toEqual({ intents: ['billing', 'technical-support', 'account-management'] });
    });

    it('classifies the example request of the telecom team as billing and technical support', async () => {
      // Act
      const answer = await classifyWith('I was charged twice on my last bill and my internet has been slow all week.', telecom);

      // Assess
      expect(answer).toEqual({ intents: ['billing', 'technical-support'] });
    });

    it('finds no intent when no capability is mentioned', async () => {
      // Act
      const answer = await classifyWith('What is the weather like in Lisbon tomorrow?', telecom);

      // Assess
      expect(answer).toEqual({ intents: [] });
    });

    it('ignores case', async () => {
      // Act
      const answer = await classifyWith('REFUND PLEASE', telecom);

      // Assess
      expect(answer).toEqual({ intents: ['billing'] });
    });
  });

  describe('Method: converse (injected off-contract faults, a scripted shortcut)', () => {
    const answer: ScriptHint = { kind: 'answer', agentId: 'billing', request: 'my bill', instruction: 'Answer.' };

    it('breaks the contract of the named state the given number of times, then answers normally', async () => {
      // Prepare
      const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Work', times: 2 }] });
      const call = async (): Promise<string> => (await model.converse({ ...requestWith(answer), stateName: 'Work' })).text;

      // Act
      const replies = [await call(), await call(), await call()];

      // Assess
      expect(replies.slice(0, 2)).toEqual(['', '']);
      expect(replies[2]).toContain('my bill');
    });

    it('answers prose instead of JSON in a classify state', async () => {
      // Prepare
      const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Classify' }] });

      // Act
      const reply = await model.converse({ ...requestWith({ kind: 'classify', request: 'my bill', candidates: telecom }), stateName: 'Classify' });

      // Assess
      expect(() => JSON.parse(reply.text) as unknown).toThrow();
    });

    it('leaves other states, and calls that name no state, alone', async () => {
      // Prepare
      const model = new ScriptedModel({ faults: [{ kind: 'off-contract', stateName: 'Synthesize' }] });

      // Act
      const inWork = await model.converse({ ...requestWith(answer), stateName: 'Work' });
      const unnamed = await model.converse(requestWith(answer));

      // Assess
      expect(inWork.text).not.toBe('');
      expect(unnamed.text).not.toBe('');
    });
  });

  describe('Method: converse (answer)', () => {
    it('fills {request} and {instruction} in the template, every occurrence', async () => {
      // Prepare
      const script: ScriptHint = {
        kind: 'answer',
        agentId: 'billing',
        request: 'my bill is wrong',
        instruction: 'check the charges',
        template: 'About "{request}" ({request}): I will {instruction}.',
      };

      // Act
      const reply = await new ScriptedModel().converse(requestWith(script));

      // Assess
      expect(reply.text).toBe('About "my bill is wrong" (my bill is wrong): I will check the charges.');
      expect(reply.modelId).toBe('scripted');
    });

    it('uses a default template naming the agent when the agent has none', async () => {
      // Prepare
      const script: ScriptHint = { kind: 'answer', agentId: 'billing', request: 'my bill', instruction: 'explain it' };

      // Act
      const reply = await new ScriptedModel().converse(requestWith(script));

      // Assess
      expect(reply.text).toBe('[billing] About "my bill": explain it');
    });

    it('inserts the request verbatim, even when it contains placeholders or $ patterns', async () => {
      // Prepare
      const script: ScriptHint = {
        kind: 'answer',
        agentId: 'billing',
        request: 'I paid $& and $1 and $$ and saw {instruction} on the page',
        instruction: 'explain',
        template: '<{request}> / <{instruction}>',
      };

      // Act
      const reply = await new ScriptedModel().converse(requestWith(script));

      // Assess
      expect(reply.text).toBe('<I paid $& and $1 and $$ and saw {instruction} on the page> / <explain>');
    });

    it('answers with the scripted reply of the telecom billing worker', async () => {
      // Prepare
      const team = await loadTelecomTeam();
      const billing = team.agents.find((agent) => agent.id === 'billing');
      const script: ScriptHint = {
        kind: 'answer',
        agentId: 'billing',
        request: 'I was charged twice',
        instruction: 'Answer the billing part of the request.',
        template: billing?.scriptedReply,
      };

      // Act
      const reply = await new ScriptedModel().converse(requestWith(script));

      // Assess
      expect(reply.text).toMatch(/^Billing: I have reviewed the charges on your account for "I was charged twice"\./);
      expect(reply.text).not.toContain('{request}');
    });
  });

  describe('Method: converse (scripted tool use, a scripted shortcut)', () => {
    const lookupInvoice: ToolSpec = {
      name: 'lookup_invoice',
      description: 'An invoice by its id.',
      inputSchema: { type: 'object', properties: { invoiceId: { type: 'string', pattern: '^INV-[0-9]{4}$' } }, required: ['invoiceId'] },
    };
    const answerTo = (request: string): ScriptHint => ({ kind: 'answer', agentId: 'billing', request, instruction: 'Answer.', template: 'About {request}.' });
    const withTools = (script: ScriptHint, tools: readonly ToolSpec[], messages?: readonly ConversationMessage[]): ModelRequest => ({ ...requestWith(script), tools, messages });

    it('asks for a tool whose required pattern matches the request, with the match as its input', async () => {
      // Act
      const reply = await new ScriptedModel().converse(withTools(answerTo('Why was INV-1042 charged twice?'), [lookupInvoice]));

      // Assess
      expect(reply.stopReason).toBe('tool_use');
      expect(reply.toolUses).toEqual([{ id: 'scripted-0', name: 'lookup_invoice', input: { invoiceId: 'INV-1042' } }]);
      expect(reply.text).toBe('');
    });

    it('answers without a tool call when the request has no match for the pattern', async () => {
      // Act
      const reply = await new ScriptedModel().converse(withTools(answerTo('Why was INV-12 charged twice?'), [lookupInvoice]));

      // Assess
      expect(reply.stopReason).toBe('end_turn');
      expect(reply.toolUses).toBeUndefined();
      expect(reply.text).toBe('About Why was INV-12 charged twice?.');
    });

    it('gives a required string without a pattern the whole request, and a required number the request’s first number', async () => {
      // Prepare
      const tools: ToolSpec[] = [
        { name: 'search', description: 'Searches.', inputSchema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
        {
          name: 'order_sims',
          description: 'Orders SIM cards.',
          inputSchema: { type: 'object', properties: { count: { type: 'integer' }, note: { type: 'string' } }, required: ['count'] },
        },
      ];

      // Act
      const reply = await new ScriptedModel().converse(withTools(answerTo('Send 3 SIM cards, not 12.5'), tools));

      // Assess
      expect(reply.toolUses).toEqual([
        { id: 'scripted-0', name: 'search', input: { query: 'Send 3 SIM cards, not 12.5' } },
        { id: 'scripted-1', name: 'order_sims', input: { count: 3 } },
      ]);
    });

    it('does not call a tool with a required property of another type, and still calls the tools it can fill', async () => {
      // Prepare
      const confirm: ToolSpec = { name: 'confirm', description: 'Confirms.', inputSchema: { type: 'object', properties: { sure: { type: 'boolean' } }, required: ['sure'] } };

      // Act
      const alone = await new ScriptedModel().converse(withTools(answerTo('INV-1042: yes, I am sure'), [confirm]));
      const beside = await new ScriptedModel().converse(withTools(answerTo('INV-1042: yes, I am sure'), [confirm, lookupInvoice]));

      // Assess
      expect(alone.stopReason).toBe('end_turn');
      expect(alone.toolUses).toBeUndefined();
      expect(beside.toolUses).toEqual([{ id: 'scripted-1', name: 'lookup_invoice', input: { invoiceId: 'INV-1042' } }]);
    });

    it('never calls a tool in a classify step', async () => {
      // Act
      const reply = await new ScriptedModel().converse(withTools({ kind: 'classify', request: 'Why was INV-1042 charged twice?', candidates: telecom }, [lookupInvoice]));

      // Assess
      expect(reply.stopReason).toBe('end_turn');
      expect(reply.toolUses).toBeUndefined();
      expect(JSON.parse(reply.text)).toEqual({ intents: ['billing'] });
    });

    it('answers once the tool results are in, with the template then one line per result, errors marked', async () => {
      // Prepare
      const messages: ConversationMessage[] = [
        {
          role: 'assistant',
          text: '',
          toolUses: [
            { id: 'scripted-0', name: 'lookup_invoice', input: { invoiceId: 'INV-1042' } },
            { id: 'scripted-1', name: 'refund', input: { invoiceId: 'INV-1042' } },
          ],
        },
        {
          role: 'user',
          toolResults: [
            { toolUseId: 'scripted-0', content: '{"total":"€45.00"}', isError: false },
            { toolUseId: 'scripted-1', content: 'Tool refund failed: not allowed', isError: true },
          ],
        },
      ];

      // Act
      const reply = await new ScriptedModel().converse(withTools(answerTo('Why was INV-1042 charged twice?'), [lookupInvoice], messages));

      // Assess: the tools are still on offer, but the first round is over
      expect(reply.stopReason).toBe('end_turn');
      expect(reply.toolUses).toBeUndefined();
      expect(reply.text).toBe('About Why was INV-1042 charged twice?.\n[tool lookup_invoice] {"total":"€45.00"}\n[tool refund error] Tool refund failed: not allowed');
    });

    it('counts the turns in its input tokens: a longer tool result costs more', async () => {
      // Prepare
      const resultOf = (content: string): ConversationMessage[] => [
        { role: 'assistant', text: '', toolUses: [{ id: 'scripted-0', name: 'lookup_invoice', input: { invoiceId: 'INV-1042' } }] },
        { role: 'user', toolResults: [{ toolUseId: 'scripted-0', content, isError: false }] },
      ];
      const script = answerTo('Why was INV-1042 charged twice?');
      const short = withTools(script, [lookupInvoice], resultOf('x'.repeat(40)));
      const long = withTools(script, [lookupInvoice], resultOf('x'.repeat(440)));

      // Act
      const [shortReply, longReply, withoutTurns] = await Promise.all([
        new ScriptedModel().converse(short),
        new ScriptedModel().converse(long),
        new ScriptedModel().converse(withTools(answerTo('no invoice here'), [lookupInvoice])),
      ]);

      // Assess: 400 more characters are 100 more tokens
      expect(longReply.usage.inputTokens - shortReply.usage.inputTokens).toBe(100);
      expect(shortReply.usage.inputTokens).toBe(estimateRequestTokens(short));
      expect(withoutTurns.usage.inputTokens).toBe(estimateRequestTokens(withTools(answerTo('no invoice here'), [lookupInvoice])));
      expect(withoutTurns.usage.inputTokens).toBeGreaterThan(estimateRequestTokens(requestWith(answerTo('no invoice here'))));
    });
  });

  describe('Method: converse (synthesize)', () => {
    it('joins the parts in the given order, one per line', async () => {
      // Prepare
      const script: ScriptHint = {
        kind: 'synthesize',
        request: 'two problems',
        parts: [
          { agentId: 'technical-support', answer: 'Restart the router.' },
          { agentId: 'billing', answer: 'A refund is on its way.' },
        ],
      };

      // Act
      const reply = await new ScriptedModel().converse(requestWith(script));

      // Assess
      expect(reply.text).toBe('Restart the router.\nA refund is on its way.');
    });
  });

  describe('Method: converse (determinism and usage)', () => {
    it('gives the same reply and usage for the same request, across instances', async () => {
      // Prepare
      const request = requestWith({ kind: 'classify', request: 'slow internet and a wrong bill', candidates: telecom });

      // Act
      const first = await new ScriptedModel().converse(request);
      const second = await new ScriptedModel().converse(request);
      const model = new ScriptedModel();
      const third = await model.converse(request);
      const fourth = await model.converse(request);

      // Assess
      expect(second).toEqual(first);
      expect(third).toEqual(first);
      expect(fourth).toEqual(first);
    });

    it('estimates usage from the length of system, prompt and reply', async () => {
      // Prepare: 8 + 9 characters in, 12 characters out
      const script: ScriptHint = { kind: 'answer', agentId: 'a', request: 'r', instruction: 'i', template: 'x'.repeat(12) };
      const request = requestWith(script, 's'.repeat(8), 'p'.repeat(9));

      // Act
      const reply = await new ScriptedModel().converse(request);

      // Assess: ceil(8/4) + ceil(9/4) = 2 + 3; ceil(12/4) = 3
      expect(reply.usage).toEqual({ inputTokens: 5, outputTokens: 3 });
    });

    it('grows the estimate with longer prompts', async () => {
      // Prepare
      const script: ScriptHint = { kind: 'synthesize', request: 'r', parts: [{ agentId: 'a', answer: 'ok' }] };

      // Act
      const short = await new ScriptedModel().converse(requestWith(script, 'sys', 'p'.repeat(40)));
      const long = await new ScriptedModel().converse(requestWith(script, 'sys', 'p'.repeat(400)));

      // Assess
      expect(long.usage.inputTokens - short.usage.inputTokens).toBe(90);
      expect(long.usage.outputTokens).toBe(short.usage.outputTokens);
    });
  });
});

describe('Function: estimateTokens', () => {
  it.each([
    [0, 1],
    [1, 1],
    [4, 1],
    [5, 2],
    [400, 100],
    [401, 101],
  ])('estimates %i characters as %i tokens (about four characters each, at least one)', (length, tokens) => {
    // Act & Assess
    expect(estimateTokens('x'.repeat(length))).toBe(tokens);
  });
});

describe('Function: matchIntents', () => {
  it('matches a longer word that starts with a keyword of four letters or more ("bill" → "billing")', () => {
    // Prepare
    const candidates = [{ id: 'billing', capabilities: ['bill'] }];

    // Act & Assess
    expect(matchIntents('A question about billing', candidates)).toEqual(['billing']);
    expect(matchIntents('Two bills arrived', candidates)).toEqual(['billing']);
  });

  it('matches short keywords (under four letters) only as whole words', () => {
    // Prepare
    const candidates = [{ id: 'account-management', capabilities: ['sim'] }];

    // Act & Assess
    expect(matchIntents('My SIM is broken', candidates)).toEqual(['account-management']);
    expect(matchIntents('A simple question', candidates)).toEqual([]);
  });

  it('does not match a keyword in the middle of a word', () => {
    // Prepare
    const candidates = [{ id: 'account-management', capabilities: ['plan'] }];

    // Act & Assess
    expect(matchIntents('I need an explanation', candidates)).toEqual([]);
    expect(matchIntents('Which plan suits me?', candidates)).toEqual(['account-management']);
  });

  it('matches a multi-word capability as a phrase, case-insensitively', () => {
    // Prepare
    const candidates = [{ id: 'roaming', capabilities: ['data roaming'] }];

    // Act & Assess
    expect(matchIntents('Is Data Roaming included abroad?', candidates)).toEqual(['roaming']);
    expect(matchIntents('Is roaming data included abroad?', candidates)).toEqual([]);
  });

  it('matches a candidate once even when several of its capabilities appear', () => {
    // Prepare
    const candidates = [
      { id: 'billing', capabilities: ['refund', 'invoice'] },
      { id: 'support', capabilities: ['router'] },
    ];

    // Act & Assess
    expect(matchIntents('refund my invoice, refund it now', candidates)).toEqual(['billing']);
  });

  it('returns nothing for text without words', () => {
    // Act & Assess
    expect(matchIntents('?!', [{ id: 'billing', capabilities: ['bill'] }])).toEqual([]);
  });
});
