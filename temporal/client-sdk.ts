/**
 * `@temporalio/client`, loaded the first time a command talks to Temporal. Loading it costs about a third of a
 * second (protobuf definitions), which commands that only read the catalog (`veda show`, `veda search`, `veda
 * slice`) never pay. The SDK is CommonJS, so it loads synchronously where a synchronous API needs it (a getter,
 * an `instanceof` check); modules on a command's path import its types only.
 */
import { createRequire } from 'node:module';

type ClientSdk = typeof import('@temporalio/client');

const require = createRequire(import.meta.url);
let sdk: ClientSdk | undefined;

export function clientSdk(): ClientSdk {
  return (sdk ??= require('@temporalio/client') as ClientSdk);
}
