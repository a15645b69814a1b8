/**
 * `veda serve` (the HTTP API, until Ctrl-C) and `veda token create|list|revoke` (its API tokens, an operator's
 * commands: they work on the catalog directly). The service's code loads only when `veda serve` runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { collect, intArg } from './cli-args.js';
import { emit } from './cli-output.js';
import { configFor, globals, type GlobalOptions } from './cli-session.js';
import type { ApiTokenInfo } from '../domain/catalog/api-tokens.js';

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (with its OpenAPI document at /openapi.json) until Ctrl-C; workers run apart')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free one)', intArg('--port'), 8080)
    .option('--public-url <url>', "the service's address as users reach it, for document links (default: each request's host)")
    .option('--rate-limit <n>', 'requests a minute per user', intArg('--rate-limit', 1), 1200)
    .option('--upload-rate-limit <n>', 'uploads (feed requests) a minute per user', intArg('--upload-rate-limit', 1), 120)
    .option('--upload-limit <MiB>', 'largest upload (a feed request)', intArg('--upload-limit', 1), 64)
    .option('--inputs <dir>', 'a directory whose files requests may name as images, labels and regions (repeat for more; URLs are always allowed, local files only there)', collect)
    .option('--log', 'log every request (JSON lines on stdout)')
    .action(async (o, cmd: Command) => {
      const opts = globals(cmd);
      const config = await configFor(opts);
      if (config.api) throw new InvalidArgumentError('veda serve works on the catalog and Temporal itself: unset VEDA_API_URL for it');
      const [{ startApiServer }, { onStopSignals }] = await Promise.all([import('../server/serve.js'), import('../runtime/stop-signals.js')]);
      const server = await startApiServer(config, {
        host: o.host,
        port: o.port,
        publicUrl: o.publicUrl,
        logRequests: Boolean(o.log),
        inputDirs: o.inputs ?? [],
        limits: { requestsPerMinute: o.rateLimit, uploadsPerMinute: o.uploadRateLimit, uploadBytes: o.uploadLimit * 1024 * 1024 },
      });
      const signals = onStopSignals(() => undefined);
      try {
        const inputs = (o.inputs as string[] | undefined) ?? [];
        emit(opts, { url: server.url, openapi: `${server.url}/openapi.json`, inputs }, () =>
          [
            `veda serve: ${server.url} (OpenAPI: ${server.url}/openapi.json)`,
            `Inputs: URLs, ${inputs.length ? `and local files under ${inputs.join(', ')}` : 'no local file (--inputs DIR allows a directory)'}`,
            'Tokens: `veda token create --user NAME`. Ctrl-C stops.',
          ].join('\n'),
        );
        await signals.requested;
      } finally {
        await server.close();
        signals.dispose();
      }
    });

  const token = program.command('token').description("API tokens of `veda serve` (an operator's commands, on the catalog)");
  token
    .command('create')
    .description('make a token that acts as --user (shown once: only its hash is kept)')
    .option('--name <name>', 'what the token is for (a laptop, a CI job)')
    .action(async (o, cmd: Command) => {
      const opts = globals(cmd);
      if (!opts.user) throw new InvalidArgumentError('veda token create needs --user NAME: the user the token acts as');
      await withTokens(opts, async (tokens) => {
        const made = await tokens.create(opts.user!, o.name);
        emit(opts, made, () => `${made.token}\n  token ${made.id} acts as ${made.userId}; keep it secret, it is not shown again`);
      });
    });
  token
    .command('list')
    .description('tokens (never their secrets), of --user or of everyone')
    .action(async (_o, cmd: Command) => {
      const opts = globals(cmd);
      await withTokens(opts, async (tokens) => {
        const all = await tokens.list(opts.user);
        emit(opts, all, () => all.map(describeToken).join('\n') || '(no tokens)');
      });
    });
  token
    .command('revoke [id]')
    .description('revoke a token by id, or every token of --user; at once')
    .action(async (id: string | undefined, _o, cmd: Command) => {
      const opts = globals(cmd);
      if (!id === !opts.user) throw new InvalidArgumentError('veda token revoke takes a token id, or --user NAME to revoke all of theirs');
      await withTokens(opts, async (tokens) => {
        const revoked = await tokens.revoke(id ? { id } : { userId: opts.user! });
        emit(opts, { revoked }, () => `revoked ${revoked} token(s)`);
      });
    });
}

async function withTokens(opts: GlobalOptions, fn: (tokens: import('../domain/catalog/api-tokens.js').ApiTokens) => Promise<void>): Promise<void> {
  const config = await configFor(opts);
  const { openCatalog } = await import('../domain/catalog/open-catalog.js');
  const catalog = await openCatalog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await fn(catalog.tokens);
  } finally {
    await catalog.close();
  }
}

function describeToken(t: ApiTokenInfo): string {
  const state = t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : t.lastUsedAt ? `last used ${t.lastUsedAt.toISOString()}` : 'never used';
  return `${t.id}  ${t.userId}  ${t.name ?? ''}  created ${t.createdAt.toISOString()}  ${state}`;
}
