// Why: a local DynamoDB (dynalite, DynamoDB Local) on this machine accepts any credentials, but the AWS SDK still
// refuses to sign without some (CredentialsProviderError). Local endpoints get dummy credentials by themselves,
// unless the user configured credentials, which are then used as given.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The credentials a local endpoint is signed with when none are configured (any value works). */
export const LOCAL_DUMMY_CREDENTIALS = Object.freeze({ accessKeyId: 'local', secretAccessKey: 'local' });

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether `endpoint` is a DynamoDB on this machine: http(s)://localhost, 127.0.0.1 or [::1], any port. */
export function isLocalEndpoint(endpoint: unknown): boolean {
  if (typeof endpoint !== 'string') return false;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname.toLowerCase());
}

/**
 * Whether the environment configures AWS credentials the SDK's default chain would find: the variables, a profile,
 * web identity, container credentials, or a shared credentials file.
 */
export function credentialsConfigured(env: NodeJS.ProcessEnv): boolean {
  const vars = ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'];
  if (vars.some((v) => Boolean(env[v]))) return true;
  const file = env.AWS_SHARED_CREDENTIALS_FILE ?? join(env.HOME ?? homedir(), '.aws', 'credentials');
  return existsSync(file);
}

/** Dummy credentials for a local endpoint when none are given or configured; undefined otherwise (the SDK's chain). */
export function localCredentialsFor(config: { endpoint?: unknown; credentials?: unknown }, env: NodeJS.ProcessEnv): typeof LOCAL_DUMMY_CREDENTIALS | undefined {
  if (config.credentials !== undefined) return undefined;
  if (!isLocalEndpoint(config.endpoint)) return undefined;
  return credentialsConfigured(env) ? undefined : LOCAL_DUMMY_CREDENTIALS;
}
