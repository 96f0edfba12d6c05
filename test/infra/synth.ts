/**
 * Helpers of the infrastructure tests: build the Legion app with the context of `cdk.json`, and
 * read CloudFormation intrinsics back as plain strings.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, CfnElement, type IPolicyValidationPlugin, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { type LegionStackProps, LegionStack } from '../../lib/legion-stack.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TELECOM_TEAM_FILE = fileURLToPath(new URL('../../teams/telecom-support.yaml', import.meta.url));

/** The context of `cdk.json` (feature flags and Legion's own keys), so tests build what `cdk synth` builds. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface BuildOptions extends LegionStackProps {
  /** Run esbuild for the Lambda assets. @default false */
  bundling?: boolean;
  /** Where the cloud assembly goes. @default a temporary folder, deleted by `removeTemporaryOutdirs()` */
  outdir?: string;
  /** Validation plugins to register on the app (e.g. cdk-nag packs, which need the app). @default none */
  plugins?: (app: App) => IPolicyValidationPlugin[];
  /**
   * Run CDK's built-in CloudFormation validation (on in `cdk synth`; ~3 s for its first template).
   * @default false
   */
  cfnValidation?: boolean;
  /** Extra context. */
  context?: Record<string, unknown>;
}

const temporaryOutdirs: string[] = [];

/** Deletes the cloud assemblies `buildApp` wrote to temporary folders (call it in `afterAll`). */
export function removeTemporaryOutdirs(): void {
  for (const outdir of temporaryOutdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

/** Builds an app with one LegionStack named `Legion`. */
export function buildApp(options: BuildOptions): { app: App; stack: LegionStack } {
  const { bundling, outdir, plugins, cfnValidation, context, ...stackProps } = options;
  const app = newApp({ bundling, outdir, plugins, cfnValidation, context });
  const stack = new LegionStack(app, 'Legion', stackProps);
  return { app, stack };
}

/** An app with this repository's cdk.json context, for stacks of a test's own. */
export function newApp(options: Omit<BuildOptions, keyof LegionStackProps> = {}): App {
  const { bundling = false, outdir = temporaryOutdir(), plugins, cfnValidation = false, context = {} } = options;
  const app = new App({
    outdir,
    builtinCloudFormationValidation: cfnValidation,
    context: {
      ...cdkJsonContext(),
      // An empty list skips bundling in every stack (the assets are staged as they are).
      ...(bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  if (plugins) Validations.of(app).addPlugins(...plugins(app));
  return app;
}

function temporaryOutdir(): string {
  const outdir = mkdtempSync(join(tmpdir(), 'legion-cdk-'));
  temporaryOutdirs.push(outdir);
  return outdir;
}

/** The logical id of a construct's CloudFormation resource (its default child). */
export function logicalIdOf(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).resolve(resource.logicalId) as string;
}

export type Resource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };
export type TemplateJson = { Resources: Record<string, Resource>; Outputs?: Record<string, unknown> };

/** The resources of one type, by logical id. */
export function resourcesOf(template: TemplateJson, type: string): Record<string, Resource> {
  return Object.fromEntries(Object.entries(template.Resources).filter(([, resource]) => resource.Type === type));
}

/**
 * Renders an intrinsic as a string: `Fn::Join` is joined, `Fn::GetAtt` becomes `<Id.Attr>`, `Ref`
 * becomes `<Id>`. Enough to read back the JSON CDK builds with `toJsonString`.
 */
export function renderIntrinsic(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (Array.isArray(object['Fn::Join'])) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(renderIntrinsic).join(separator);
    }
    if (Array.isArray(object['Fn::GetAtt'])) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
    if (typeof object.Ref === 'string') return `<${object.Ref}>`;
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** The logical ids an intrinsic refers to (`Ref` and `Fn::GetAtt`), recursively. */
export function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.Ref === 'string') return object.Ref.startsWith('AWS::') ? [] : [object.Ref];
    if (Array.isArray(object['Fn::GetAtt'])) return [(object['Fn::GetAtt'] as string[])[0] ?? ''];
    return Object.values(object).flatMap(referencedIds);
  }
  return [];
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every policy statement attached to a role (inline policies of the template naming it). */
export function statementsOfRole(template: TemplateJson, roleId: string): Statement[] {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) => referencedIds(policy.Properties?.Roles).includes(roleId))
    .flatMap((policy) => (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourceList(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}
