import { env, EnvRef, RubyValue } from "./ruby";
import { SECRET_ENV } from "./secrets";

/*
 * The vocabulary of the gitlab.rb renderer (omnibusConfig.ts and the blocks it
 * composes: registryConfig.ts, mailConfig.ts), and the facts of the image the
 * other files of the package share.
 */

/** Where the image keeps the RDS CA bundle (gitlab/Dockerfile); outside the image's volumes, so no mount hides it. */
export const RDS_CA_BUNDLE = "/opt/platform/rds-global-bundle.pem";

/** Ports inside the task. */
export const GITLAB_PORTS = { http: 80, registry: 5050, ssh: 22, gitaly: 8075 } as const;

/** One `a['b']['c'] = value` line, or a top-level DSL call (`external_url '...'`). */
export type Setting = { readonly path: readonly string[]; readonly value: RubyValue } | { readonly call: string; readonly value: RubyValue };

export const s = (path: string[], value: RubyValue): Setting => ({ path, value });
export const secret = (name: keyof typeof SECRET_ENV): EnvRef => env(SECRET_ENV[name]);

