/**
 * API tokens of the HTTP service (`veda serve`): a token says who is acting. Tokens are 32 random bytes, shown once
 * when created; the catalog keeps only their sha256 (a fast hash is enough for random, high-entropy secrets: there
 * is nothing to guess from it), so a leaked catalog leaks no usable token. Revoking is immediate: every request
 * looks its token up again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import type { SqlQueryable } from './sql-client.js';

/** A token as listed: everything but the secret. */
export interface ApiTokenInfo {
  id: string;
  userId: string;
  name: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiTokens {
  /** Makes a token acting as `userId`; the answer is the only place its secret (`token`) is ever seen. */
  create(userId: string, name?: string): Promise<ApiTokenInfo & { token: string }>;
  /** Who a token acts as, or null when it is unknown or revoked. */
  verify(token: string): Promise<{ id: string; userId: string } | null>;
  /** Tokens, oldest first, of one user or all. */
  list(userId?: string): Promise<ApiTokenInfo[]>;
  /** Revokes one token by id (true when it was live), or every live token of a user (how many). */
  revoke(which: { id: string } | { userId: string }): Promise<number>;
}

/** The prefix makes a veda token recognisable in logs and secret scanners. */
const TOKEN_PREFIX = 'veda_';

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface TokenRow {
  id: string;
  user_id: string;
  name: string | null;
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

const COLUMNS = 'id, user_id, name, created_at, last_used_at, revoked_at';
const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

function info(row: TokenRow): ApiTokenInfo {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: date(row.created_at)!,
    lastUsedAt: date(row.last_used_at),
    revokedAt: date(row.revoked_at),
  };
}

function checkUser(userId: string): string {
  if (typeof userId !== 'string' || userId.trim() === '' || /[\u0000-\u001f\u007f]/.test(userId)) {
    throw new InvalidInputError('a token needs a user name (printable, not empty)');
  }
  return userId;
}

export class SqlApiTokens implements ApiTokens {
  constructor(private readonly db: SqlQueryable) {}

  async create(userId: string, name?: string): Promise<ApiTokenInfo & { token: string }> {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const { rows } = await this.db.query<TokenRow>(
      `insert into api_tokens (id, user_id, name, hash) values ($1::text, $2::text, $3::text, $4::text) returning ${COLUMNS}`,
      [`tok_${randomBytes(6).toString('hex')}`, checkUser(userId), name ?? null, tokenHash(token)],
    );
    return { ...info(rows[0]!), token };
  }

  async verify(token: string): Promise<{ id: string; userId: string } | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    // Marks the token used at most once a minute, so a busy client does not write on every request.
    const { rows } = await this.db.query<{ id: string; user_id: string }>(
      `with live as (select id, user_id from api_tokens where hash = $1::text and revoked_at is null),
       used as (update api_tokens set last_used_at = now() where id in (select id from live)
                and (last_used_at is null or last_used_at < now() - interval '1 minute'))
       select id, user_id from live`,
      [tokenHash(token)],
    );
    return rows[0] ? { id: rows[0].id, userId: rows[0].user_id } : null;
  }

  async list(userId?: string): Promise<ApiTokenInfo[]> {
    const { rows } = userId === undefined
      ? await this.db.query<TokenRow>(`select ${COLUMNS} from api_tokens order by created_at, id`)
      : await this.db.query<TokenRow>(`select ${COLUMNS} from api_tokens where user_id = $1::text order by created_at, id`, [userId]);
    return rows.map(info);
  }

  async revoke(which: { id: string } | { userId: string }): Promise<number> {
    const [column, value] = 'id' in which ? ['id', which.id] : ['user_id', which.userId];
    const { rows } = await this.db.query<{ id: string }>(
      `update api_tokens set revoked_at = now() where ${column} = $1::text and revoked_at is null returning id`,
      [value],
    );
    return rows.length;
  }
}
