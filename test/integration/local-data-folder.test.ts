/**
 * A data folder (`--data-dir`) under races and damage (issue 12, defect 5): the lock is an atomic
 * create, a refused start never touches the winner's lock, stale locks are taken over or explained,
 * a damaged database fails fast without leaving Java behind, and a folder that cannot hold a
 * database is bad input (exit code 2), not a stack trace.
 *
 * Read-only folders: the tests run as root, for whom chmod does not stop writes, and mounting a
 * read-only file system needs privileges they do not have. The EROFS mapping is therefore not
 * exercised here; an unwritable folder is (sysfs refuses a new folder even to root, with EPERM).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../functions/core/errors.ts';
import {
  DamagedDatabaseError,
  DataFolderError,
  DataFolderInUseError,
  DynamoDbLocal,
  LOCK_FILE,
  LocalDatabaseError,
  SHARED_DATABASE_FILE,
} from '../../local/dynamodb-local.ts';
import { legionProcess } from '../support/legion-process.ts';

function freshFolder(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `legion-${prefix}-`));
}

function lockOf(dataDir: string): { pid: number; token?: string; guardPid?: number } {
  return JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number; token?: string; guardPid?: number };
}

/** A pid that no process has any more. */
function deadPid(): number {
  return spawnSync('true').pid;
}

/** Java processes of DynamoDB Local that use this data folder (not their shell guards). */
function javaProcessesFor(dataDir: string): string[] {
  const listing = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return listing.split('\n').filter((line) => /^\s*\d+\s+java\s/.test(line) && line.includes('DynamoDBLocal.jar') && line.includes(dataDir));
}

/** The CLI's error output is one `legion: ...` line, with no stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp): void {
  const errorLines = stderr.split('\n').filter((line) => line.startsWith('legion: '));
  expect(errorLines).toHaveLength(1);
  expect(errorLines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('DynamoDbLocal data folder lock', () => {
  it('lets exactly one of two simultaneous starts on a folder with a dead process lock win; the other is refused and leaves the winner lock alone', async () => {
    const dataDir = await freshFolder('race');
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid: deadPid() }));

    const outcomes = await Promise.allSettled([DynamoDbLocal.start({ dataDir }), DynamoDbLocal.start({ dataDir })]);
    const winners = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const losers = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    const [winner] = winners;
    try {
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0]).toBeInstanceOf(DataFolderInUseError);
      expect(losers[0]).toBeInstanceOf(LocalDatabaseError);
      expect((losers[0] as Error).message).toMatch(new RegExp(`in use by another legion process \\(pid ${process.pid}\\)`));
      expect((losers[0] as Error).message).toContain(`remove ${join(dataDir, LOCK_FILE)} if no legion process`);
      // The dead process's lock was taken over and the winner's lock survived the loser's clean-up.
      const lock = lockOf(dataDir);
      expect(lock.pid).toBe(process.pid);
      expect(lock.guardPid).toBeTypeOf('number');
      expect(javaProcessesFor(dataDir)).toHaveLength(1);

      // Another process (the CLI) is refused too, with exit code 1 and the holder's pid.
      const cli = await legionProcess(['checkpoints', 'any-task', '--data-dir', dataDir], { ownDatabase: true, timeoutMs: 60_000 });
      expect(cli.status).toBe(1);
      expectOneLineError(cli.stderr, new RegExp(`in use by another legion process \\(pid ${process.pid}\\)`));
      expect(lockOf(dataDir)).toEqual(lock);
    } finally {
      await winner?.stop();
    }
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('explains a lock held by a live process that is not legion: which pid, and how to clear it', async () => {
    const dataDir = await freshFolder('stale');
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = unrelated.pid;
      if (pid === undefined) throw new Error('could not spawn sleep');
      writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid }));

      const error = await DynamoDbLocal.start({ dataDir }).then(
        () => undefined,
        (reason: unknown) => reason,
      );

      expect(error).toBeInstanceOf(DataFolderInUseError);
      expect((error as DataFolderInUseError).holderPid).toBe(pid);
      expect((error as Error).message).toMatch(new RegExp(`locked by pid ${pid}, which is running but is not a legion process \\(sleep 60\\)`));
      expect((error as Error).message).toContain(`remove ${join(dataDir, LOCK_FILE)} if no legion process is using this folder`);
      expect(lockOf(dataDir)).toEqual({ pid });
    } finally {
      unrelated.kill();
    }
  });

  it('explains a lock file that legion did not write, and leaves it in place', async () => {
    const dataDir = await freshFolder('garbage-lock');
    writeFileSync(join(dataDir, LOCK_FILE), 'not a lock');

    await expect(DynamoDbLocal.start({ dataDir })).rejects.toThrow(new RegExp(`lock file that legion did not write; remove ${join(dataDir, LOCK_FILE)}`));
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8')).toBe('not a lock');
  });

  it('explains a folder in the place of the lock file', async () => {
    const dataDir = await freshFolder('folder-lock');
    mkdirSync(join(dataDir, LOCK_FILE));

    await expect(DynamoDbLocal.start({ dataDir })).rejects.toThrow(DataFolderInUseError);
  });
});

describe('DynamoDbLocal data folder that cannot hold a database', () => {
  it('refuses a file as the data folder with a DataFolderError (a usage error)', async () => {
    const file = join(await freshFolder('file'), 'not-a-folder');
    writeFileSync(file, 'x');

    const error = await DynamoDbLocal.start({ dataDir: file }).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    expect(error).toBeInstanceOf(DataFolderError);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`data folder ${file} is a file, not a folder`);
  });

  it('refuses a folder under a file', async () => {
    const file = join(await freshFolder('under-file'), 'not-a-folder');
    writeFileSync(file, 'x');

    await expect(DynamoDbLocal.start({ dataDir: join(file, 'data') })).rejects.toThrow(DataFolderError);
    await expect(DynamoDbLocal.start({ dataDir: join(file, 'data') })).rejects.toThrow(/is not a folder: a file is in the way/);
  });

  // sysfs refuses new folders even to root; elsewhere (no /sys) the case is skipped.
  it.skipIf(!existsSync('/sys/kernel'))('refuses a folder that cannot be created (permission denied)', async () => {
    await expect(DynamoDbLocal.start({ dataDir: '/sys/legion-data-folder-test' })).rejects.toThrow(/data folder \/sys\/legion-data-folder-test cannot (be written|be created)/);
  });

  it('CLI: a file as --data-dir exits with code 2 and one line, no stack trace', async () => {
    const file = join(await freshFolder('cli-file'), 'not-a-folder');
    writeFileSync(file, 'x');

    const [checkpoints, run] = await Promise.all([
      legionProcess(['checkpoints', 'any-task', '--data-dir', file], { ownDatabase: true, timeoutMs: 60_000 }),
      legionProcess(['run', 'supervisor-worker', '--data-dir', join(file, 'data')], { ownDatabase: true, timeoutMs: 60_000 }),
    ]);

    expect(checkpoints.status).toBe(2);
    expectOneLineError(checkpoints.stderr, new RegExp(`^legion: data folder ${file} is a file, not a folder$`));
    expect(run.status).toBe(2);
    expectOneLineError(run.stderr, /is not a folder: a file is in the way$/);
  }, 60_000);
});

describe('DynamoDbLocal on a damaged database file', () => {
  function damagedFolder(dataDir: string): void {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, SHARED_DATABASE_FILE), Buffer.alloc(8192, 'garbage '));
  }

  it('fails within seconds with a DamagedDatabaseError naming the file, and leaves no Java and no lock', async () => {
    const dataDir = await freshFolder('damaged');
    damagedFolder(dataDir);
    // Also a lock left by an earlier process that had this very pid (pids repeat across container
    // restarts): taken over as stale, then released when the start fails.
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify({ pid: process.pid, token: 'an-earlier-process' }));

    const startedAt = Date.now();
    const error = await DynamoDbLocal.start({ dataDir }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    const elapsedMs = Date.now() - startedAt;

    expect(error).toBeInstanceOf(DamagedDatabaseError);
    expect((error as Error).message).toContain(join(dataDir, SHARED_DATABASE_FILE));
    expect((error as Error).message).toMatch(/sqlite: file is (encrypted or is )?not a database/);
    // Well below the 30 s start-up timeout it used to wait for (DynamoDB Local itself takes 2-5 s to start here).
    expect(elapsedMs).toBeLessThan(20_000);
    expect(javaProcessesFor(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 30_000);

  it('CLI: exits with code 1 and one line naming the file, without hanging or leaving Java behind', async () => {
    const dataDir = await freshFolder('damaged-cli');
    damagedFolder(dataDir);

    const outcome = await legionProcess(['checkpoints', 'any-task', '--data-dir', dataDir], { ownDatabase: true, timeoutMs: 25_000 });

    expect(outcome.signal).toBeNull(); // it exited by itself, not killed by the timeout
    expect(outcome.status).toBe(1);
    expectOneLineError(outcome.stderr, new RegExp(`database in data folder ${dataDir} is damaged: DynamoDB Local cannot read ${join(dataDir, SHARED_DATABASE_FILE)}`));
    expect(javaProcessesFor(dataDir)).toEqual([]);
  }, 30_000);
});
