import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { teamJsonSchema } from '../../functions/core/team-json-schema.ts';

const SCHEMA_FILE = 'schema/team-definition.schema.json';
const teamFiles = (folder: string): string[] => readdirSync(folder).filter((name) => name.endsWith('.yaml')).map((name) => join(folder, name));

describe('Function: teamJsonSchema', () => {
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(teamJsonSchema());

  it(`is what ${SCHEMA_FILE} holds (npm run schema writes it)`, () => {
    expect(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))).toEqual(teamJsonSchema());
  });

  it.each([...teamFiles('teams'), ...teamFiles('test/fixtures/teams')])('accepts %s, which names it for editors on its first line', (file) => {
    const text = readFileSync(file, 'utf8');

    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=(\.\.\/)+schema\/team-definition\.schema\.json$/);
  });

  it.each([
    ['an unknown pattern', { pattern: 'round-robin' }, '/pattern'],
    ['a field no definition has', { colour: 'blue' }, ''],
    ['a negative budget', { limits: { taskTokenBudget: -1 } }, '/limits/taskTokenBudget'],
  ])('refuses %s where it is', (_case, change, path) => {
    const team = { ...(parse(readFileSync('teams/telecom-support.yaml', 'utf8')) as Record<string, unknown>), ...change };

    expect(validate(team)).toBe(false);
    expect(validate.errors?.map((error) => error.instancePath)).toContain(path);
  });
});
