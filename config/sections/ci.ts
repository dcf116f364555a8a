import { z } from "zod";
import { invalid, quoted } from "../shapes";

/**
 * The `platform:ci` section: the identity GitLab CI uses to preview and deploy
 * this stack (components/deployIdentity/). GitLab's ID token is exchanged for
 * short-lived AWS credentials; no access key exists anywhere.
 */

/** A branch name, or a pattern with `*` (IAM StringLike), as it appears in the token's `sub`. */
const branchPattern = z
    .string()
    // No ':' (it separates the sub claim's parts) and no '?' (a StringLike wildcard).
    .regex(/^[A-Za-z0-9._/*-]+$/, { error: invalid("a branch name or pattern (letters, digits, . _ / - and *)") });

const branchName = branchPattern.refine((b) => !b.includes("*"), {
    error: quoted((input) => `${input}: deploy branches are exact names, no wildcards`),
});

export const ciSchema = z
    .strictObject({
        /** Create GitLab's OIDC trust and this stack's CI roles. */
        enabled: z.boolean().default(false),
        /**
         * The GitLab that runs this project's pipelines: the token issuer and
         * its audience (`$CI_SERVER_URL`, what `.gitlab-ci.yml` asks for).
         */
        gitlabUrl: z
            .string()
            .regex(/^https:\/\/[a-z0-9.-]+(:\d+)?$/, { error: invalid("an https:// URL of a host (no path, no trailing slash), as $CI_SERVER_URL prints it") })
            .optional(),
        /** This repository's path on that GitLab (`group/project`, as `$CI_PROJECT_PATH`). */
        projectPath: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/, { error: invalid("a GitLab project path (group/project)") })
            .optional(),
        /**
         * `create`: this stack creates the IAM OIDC provider for gitlabUrl.
         * `existing`: another stack of the same account did (AWS allows one per
         * URL per account); this one trusts it.
         */
        oidcProvider: z.enum(["create", "existing"]).default("create"),
        /**
         * With `create`: the other stacks of this project (same account) whose
         * CI roles trust that provider; their roles' token audiences join its
         * client IDs, or AWS refuses their tokens.
         */
        oidcProviderSharedWith: z.array(z.string().regex(/^[a-z0-9-]+$/, { error: invalid("a stack name") })).default([]),
        /** Branches whose pipelines may deploy this stack. Protect them in GitLab: the token's sub is all AWS checks. */
        deployBranches: z.array(branchName).min(1).default(["main"]),
        /** Branches whose pipelines may preview this stack (read-only role, but it decrypts the stack's secrets). */
        previewBranches: z.array(branchPattern).min(1).default(["*"]),
        /**
         * The project's `ci_id_token_sub_claim_components` ends in `ref_protected`
         * (GitLab 18.7+): AWS then also requires `ref_protected:true` from deploys.
         */
        refProtectedInSub: z.boolean().default(false),
        /** The Pulumi state in S3 (the DIY backend): bucket and key prefix the CI roles may use. */
        stateBucket: z
            .strictObject({
                name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: invalid("an S3 bucket name") }),
                /** Where `.pulumi/` lives in the bucket: `s3://<name>/<prefix>`; "" for the root. */
                prefix: z
                    .string()
                    .regex(/^([a-z0-9._-]+\/)*$/, { error: invalid(`a key prefix ending in '/' (or "")`) })
                    .default(""),
            })
            .optional(),
        /** Alias of this stack's own KMS key behind its `awskms://` secrets provider: one key per stack, or one stack's CI decrypts another's state. */
        secretsKeyAlias: z
            .string()
            .regex(/^alias\/[A-Za-z0-9/_-]+$/, { error: invalid("a KMS alias (alias/name)") })
            .optional(),
    })
    .superRefine((c, ctx) => {
        if (!c.enabled) {
            return;
        }
        for (const key of ["gitlabUrl", "projectPath"] as const) {
            if (c[key] === undefined) {
                ctx.addIssue({ code: "custom", path: [key], message: "required when ci.enabled is true" });
            }
        }
        if (c.oidcProvider === "existing" && c.oidcProviderSharedWith.length > 0) {
            ctx.addIssue({ code: "custom", path: ["oidcProviderSharedWith"], message: "only the stack that creates the provider (oidcProvider: create) lists the stacks sharing it" });
        }
    })
    // A disabled section hands on nothing but its switch; an enabled one, its two keys as present.
    .transform(({ gitlabUrl, projectPath, ...c }) => {
        if (!c.enabled) {
            return { enabled: false as const };
        }
        // Unreachable: the refine above has refused an enabled section without them, and Zod transforms only what passed.
        if (gitlabUrl === undefined || projectPath === undefined) {
            return z.NEVER;
        }
        return { ...c, enabled: true as const, gitlabUrl, projectPath };
    });

export type CiConfig = z.output<typeof ciSchema>;
