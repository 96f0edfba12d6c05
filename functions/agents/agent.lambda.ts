/**
 * Lambda entry point of every agent role: configuration comes from the environment CDK sets. A
 * bidder's function also answers auction announcements from its EventBridge rule.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createAgentHandler } from './agent.ts';
import { createBidderAgentHandler } from '../patterns/auction/bidder.ts';
import { AuctionStore } from '../patterns/auction/auction-store.ts';
import { readAgentConfig } from '../core/config.ts';
import { createAgentDependencies } from './agent-dependencies.ts';

const config = readAgentConfig();
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const deps = createAgentDependencies(config, { documentClient });
const stepHandler = createAgentHandler(config, deps);

export const handler =
  config.agent.role === 'bidder' && config.eventBusName
    ? createBidderAgentHandler(config, stepHandler, {
        auctions: new AuctionStore({ client: documentClient, tableName: config.tableName, team: config.team, retentionDays: config.retentionDays }),
        events: new EventBridgeClient({}),
        eventBusName: config.eventBusName,
        logger: deps.logger,
        metrics: deps.metrics,
      })
    : stepHandler;
