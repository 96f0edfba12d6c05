/**
 * Tells humans that a run waits for them: a rule on the Legion event bus sends every
 * `ApprovalRequested` event (put by request-approval, the `Escalate` state of every pattern) to an
 * SNS topic, which people and systems subscribe to. The rule's pattern comes from
 * functions/core/events.ts, which the local event bus matches too.
 *
 * The topic gets the whole event, task token included (a subscriber may answer with it), so it is
 * encrypted with a customer-managed KMS key and refuses requests without TLS. Not the AWS-managed
 * key alias/aws/sns: its key policy cannot be changed to let EventBridge use it, and EventBridge
 * could not publish.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { APPROVAL_TIMEOUT_SECONDS } from '../functions/core/contract.ts';
import { approvalRequestedPattern } from '../functions/core/events.ts';
import { secureQueue, toCdkPattern } from './event-triggers.ts';

/** The longest maxEventAge EventBridge accepts for a target. */
const MAX_EVENT_AGE = Duration.hours(24);

export interface ApprovalNotificationsProps {
  /** The Legion event bus, on which request-approval puts `ApprovalRequested` events. */
  readonly eventBus: events.IEventBus;
  /**
   * How long EventBridge keeps trying to deliver a request to the topic before dead-lettering it.
   *
   * @default as long as a run waits for its decision (APPROVAL_TIMEOUT_SECONDS), at most 24 hours
   */
  readonly maxEventAge?: Duration;
  /**
   * How many times EventBridge retries delivering a request to the topic before dead-lettering it.
   *
   * @default 8
   */
  readonly retryAttempts?: number;
  /**
   * The KMS key that encrypts the topic. EventBridge must be allowed to use it (a key of this stack
   * is: publishing is granted with the key's actions); an imported key's policy must allow it.
   *
   * @default a new customer-managed key, rotated every year
   */
  readonly masterKey?: kms.IKey;
}

/**
 * @example
 * ```ts
 * const approvals = new ApprovalNotifications(this, 'Approvals', { eventBus: bus });
 * approvals.topic.addSubscription(new subscriptions.EmailSubscription('on-call@example.com'));
 * ```
 */
export class ApprovalNotifications extends Construct {
  /** Where approval requests go: subscribe to it to be told when a run waits for a human. */
  public readonly topic: sns.Topic;
  /** The rule on the Legion bus that sends `ApprovalRequested` events to {@link topic}. */
  public readonly rule: events.Rule;
  /** Requests EventBridge could not deliver to the topic (after its retry policy). */
  public readonly deadLetterQueue: sqs.Queue;
  /** The key that encrypts the topic. */
  public readonly masterKey: kms.IKey;

  public constructor(scope: Construct, id: string, props: ApprovalNotificationsProps) {
    super(scope, id);
    const { eventBus, maxEventAge = defaultMaxEventAge(), retryAttempts = 8 } = props;
    this.masterKey =
      props.masterKey ??
      new kms.Key(this, 'Key', {
        description: 'Legion: encrypts the topic of approval requests',
        enableKeyRotation: true,
        // It encrypts messages in flight only (SNS keeps none): nothing is left to decrypt once the topic is gone.
        removalPolicy: RemovalPolicy.DESTROY,
      });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Legion: a run waits for a human decision',
      masterKey: this.masterKey,
      enforceSSL: true,
    });
    this.deadLetterQueue = secureQueue(this, 'DeadLetters');
    // The target grants EventBridge sns:Publish on the topic, and the key's Decrypt / GenerateDataKey*.
    this.rule = new events.Rule(this, 'ApprovalRequested', {
      eventBus,
      description: 'Legion: a run escalated and waits for a human decision',
      eventPattern: toCdkPattern(approvalRequestedPattern()),
      targets: [new targets.SnsTopic(this.topic, { deadLetterQueue: this.deadLetterQueue, maxEventAge, retryAttempts })],
    });
    Validations.of(this.deadLetterQueue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself a dead-letter queue (of the rule target).' },
      { id: 'Serverless-SQSRedrivePolicy', reason: 'This queue is itself a dead-letter queue; nothing consumes it automatically.' },
    );
  }
}

/** A request is worth delivering as long as its run waits, which EventBridge may not allow in full. */
function defaultMaxEventAge(): Duration {
  return Duration.seconds(Math.min(APPROVAL_TIMEOUT_SECONDS, MAX_EVENT_AGE.toSeconds()));
}
