#!/usr/bin/env node
/* global process */
// Launcher of the Legion CLI (bin/legion.ts): runs the TypeScript sources through tsx, so there is
// no build step between `npm ci` and `npm start`.
// The AWS SDK warns on every run that releases after January 2027 need Node 22; on the supported
// Node 20 that is noise for a CLI user, so it is switched off here (its documented switch).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { register } = await import('tsx/esm/api');
register();
await import('./legion.ts');
