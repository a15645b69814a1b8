/**
 * Who is asking: the user an API token (`Authorization: Bearer veda_...`) belongs to, looked up (hashed) in the
 * catalog on every request, so a revoked token stops working at once. The server decides who acts; nothing the
 * caller sends besides the token can change it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiTokens } from '../domain/catalog/api-tokens.js';
import { UnauthorizedError } from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The user the request's token belongs to (set for every route but the public ones). */
    vedaUser?: string;
  }
  interface FastifyContextConfig {
    /** Open to anyone, without a token (the OpenAPI document). */
    public?: boolean;
  }
}

export function requireTokens(app: FastifyInstance, tokens: ApiTokens): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public) return;
    reply.header('www-authenticate', 'Bearer realm="veda"');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw new UnauthorizedError('no API token: send `Authorization: Bearer <token>` (an operator makes one with `veda token create --user NAME`)');
    const found = await tokens.verify(match[1]!);
    if (!found) throw new UnauthorizedError('the API token is unknown or revoked');
    request.vedaUser = found.userId;
  });
}

export function userOf(request: FastifyRequest): string {
  if (!request.vedaUser) throw new UnauthorizedError('no API token');
  return request.vedaUser;
}
