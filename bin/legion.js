#!/usr/bin/env node
/* global process, URL */
// Launcher of the Legion CLI. In a clone (bin/legion.ts is here) it runs the TypeScript sources
// through tsx, so there is no build step between `npm ci` and `npm start`; the published package
// carries no CLI sources and runs the built CLI (dist/bin/legion.js).
// The AWS SDK warns on every run that releases after January 2027 need Node 22; on the supported
// Node 20 that is noise for a CLI user, so it is switched off here (its documented switch).
import { existsSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (existsSync(new URL('./legion.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./legion.ts');
} else {
  await import('../dist/bin/legion.js');
}
