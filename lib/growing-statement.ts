/**
 * One IAM statement whose resources are added over time (a team's state machine at a time), so
 * the policy has one statement however many teams come: attached with its first resource, since
 * IAM refuses a statement with none.
 *
 * @example
 * ```ts
 * const describe = new GrowingStatement(['states:DescribeExecution'], (statement) => fn.addToRolePolicy(statement));
 * describe.add(executionArn); // attaches the statement
 * describe.add(otherExecutionArn); // extends it
 * ```
 */
import * as iam from 'aws-cdk-lib/aws-iam';

export class GrowingStatement {
  private statement?: iam.PolicyStatement;

  /** @param attach - puts the statement into a policy; called once, with the first resources */
  public constructor(
    private readonly actions: readonly string[],
    private readonly attach: (statement: iam.PolicyStatement) => void,
  ) {}

  /** Whether a resource was added (and the statement attached). */
  public get attached(): boolean {
    return this.statement !== undefined;
  }

  public add(...resources: string[]): void {
    if (this.statement) {
      this.statement.addResources(...resources);
      return;
    }
    this.statement = new iam.PolicyStatement({ actions: [...this.actions], resources });
    this.attach(this.statement);
  }
}
