/**
 * The JSON Schema of team definitions, generated from the same zod schema that validates them
 * (TeamDefinitionSchema), for editors: YAML files name it with
 * `# yaml-language-server: $schema=<path or URL>` and get completion and checks as they type.
 * `schema/team-definition.schema.json` is this, written by `npm run schema` (a test keeps the two
 * the same). What JSON Schema cannot say (the roles a pattern needs, unique ids, sub-team cycles)
 * `legion validate` checks.
 *
 * @example
 * ```ts
 * writeFileSync('team.schema.json', `${JSON.stringify(teamJsonSchema(), null, 2)}\n`);
 * ```
 */
import { z } from 'zod';
import { TeamDefinitionSchema } from './team-schema.ts';

export function teamJsonSchema(): Record<string, unknown> {
  // As written in a file (`io: 'input'`): fields with defaults may be left out.
  const schema = z.toJSONSchema(TeamDefinitionSchema, { io: 'input', unrepresentable: 'any' });
  const { $schema, ...rest } = schema;
  return {
    $schema,
    title: 'Legion team definition',
    description: 'A team of AI agents for Legion: its pattern, its agents, its limits. `legion validate` checks what JSON Schema cannot (the roles a pattern needs, unique ids, sub-team cycles).',
    ...rest,
  };
}
