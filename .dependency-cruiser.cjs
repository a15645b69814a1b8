/**
 * veda's layers point one way: domain at the bottom (no Temporal, no configuration), compute/ (domain work on worker
 * threads) on it, then the Temporal plumbing, activities and workflows, then the worker and the client API, then the
 * composition roots (the CLI, the one-process stack) on top. `npm run lint:layers` checks it; CI runs it.
 */
const UP_FROM_DOMAIN = '^(compute|activities|workflows|worker|client|cli|stack|runtime|temporal|config|plugin|server)/';
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Modules that import each other cannot be understood, tested or moved one at a time (type-only imports aside).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'Domain code knows nothing of Temporal, configuration or the layers above it.',
      from: { path: '^domain/' },
      to: { path: [UP_FROM_DOMAIN, '^node_modules/@temporalio/'] },
    },
    {
      name: 'workflows-import-activity-types-only',
      severity: 'error',
      comment: 'Workflows run in the deterministic sandbox: activity code, Node APIs and I/O stay out.',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-stay-in-the-sandbox',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: ['^(compute|worker|client|cli|stack|runtime|temporal|config|plugin)/', '^node_modules/@temporalio/(client|worker|activity)/'] },
    },
    {
      name: 'compute-is-domain-on-threads',
      severity: 'error',
      comment: 'compute/ runs domain work on worker threads: it knows the domain and piscina, nothing of Temporal or the layers above.',
      from: { path: '^compute/' },
      to: { path: ['^(activities|workflows|worker|client|cli|stack|runtime|temporal|config|plugin|server)/', '^node_modules/@temporalio/'] },
    },
    {
      name: 'activities-point-down',
      severity: 'error',
      from: { path: '^activities/' },
      to: { path: '^(workflows|worker|client|cli|stack|plugin|server)/' },
    },
    {
      name: 'services-point-down',
      severity: 'error',
      comment: 'runtime/ opens the shared services from configuration; temporal/ connects to Temporal.',
      from: { path: '^(runtime|temporal|config)/' },
      // The search attribute keys are the workflows' contract; registering them is Temporal plumbing.
      to: { path: '^(activities|workflows|worker|client|cli|stack|plugin|server)/', pathNot: '^workflows/search-attributes\\.ts$' },
    },
    {
      name: 'worker-is-not-a-client',
      severity: 'error',
      from: { path: '^worker/' },
      to: { path: '^(client|cli|stack|server)/' },
    },
    {
      name: 'client-is-not-a-worker',
      severity: 'error',
      comment:
        'The client API starts and queries workflows; it never runs activities or a worker. The CLI (client/cli*.ts) is ' +
        'the composition root beside stack/: `veda dev` and `veda worker` start the one-process stack and a worker.',
      from: { path: '^client/', pathNot: '^client/cli[^/]*\\.ts$' },
      to: { path: ['^(activities|worker|cli|stack|plugin|server)/', '^node_modules/@temporalio/(worker|activity)/'] },
    },
    {
      name: 'server-points-down',
      severity: 'error',
      comment:
        'server/ (the HTTP API) serves the client API\'s DirectBackend over HTTP: it may use client/, runtime/, temporal/ and ' +
        'domain/, never the worker, activities, the one-process stack or the CLI.',
      from: { path: '^server/' },
      to: { path: ['^(activities|worker|stack|plugin)/', '^client/cli[^/]*\\.ts$', '^node_modules/@temporalio/(worker|activity)/'] },
    },
    {
      name: 'only-the-cli-serves',
      severity: 'error',
      comment: 'Nothing below the composition roots imports the HTTP service: only the CLI (`veda serve`) and tests start it.',
      from: { pathNot: '^(client/cli[^/]*|server/.*)\\.ts$' },
      to: { path: '^server/' },
    },
    {
      name: 'only-the-cli-starts-the-stack',
      severity: 'error',
      comment: 'stack/ composes everything (Temporal server, catalog, worker, client): only the CLI, tests and demos use it.',
      from: { pathNot: '^(client/cli[^/]*|stack/[^/]*)\\.ts$' },
      to: { path: '^stack/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|bench|examples|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
