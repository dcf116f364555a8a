import { z } from "zod";
import { invalid, quoted } from "../shapes";

/** The `platform:ci` section (components/deployIdentity/). */

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
        enabled: z
            .boolean()
            .default(false)
            .describe("Create GitLab's OIDC trust and this stack's ci-deploy and ci-preview roles; when false the other keys are checked but unused."),
        gitlabUrl: z
            .string()
            .regex(/^https:\/\/[a-z0-9.-]+(:\d+)?$/, { error: invalid("an https:// URL of a host (no path, no trailing slash), as $CI_SERVER_URL prints it") })
            .optional()
            .describe("The GitLab that runs this project's pipelines, https://<host> as $CI_SERVER_URL prints it: the token's issuer and audience. Required when ci.enabled is true."),
        projectPath: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/, { error: invalid("a GitLab project path (group/project)") })
            .optional()
            .describe("This repository's path on that GitLab (group/project, as $CI_PROJECT_PATH). Required when ci.enabled is true."),
        oidcProvider: z
            .enum(["create", "existing"])
            .default("create")
            .describe("create: this stack creates the IAM OIDC provider for gitlabUrl. existing: another stack of the same account did (AWS allows one per URL per account); this one trusts it."),
        oidcProviderSharedWith: z
            .array(z.string().regex(/^[a-z0-9-]+$/, { error: invalid("a stack name") }))
            .default([])
            .describe("oidcProvider create only: the other stacks of this project (same account) whose CI roles trust that provider; their roles' token audiences join its client IDs, or AWS refuses their tokens."),
        deployBranches: z
            .array(branchName)
            .min(1)
            .default(["main"])
            .describe("Branches (exact names, no wildcards) whose pipelines may deploy this stack. Protect them in GitLab: the token's sub is all AWS checks."),
        previewBranches: z
            .array(branchPattern)
            .min(1)
            .default(["*"])
            .describe("Branches or * patterns whose pipelines may preview this stack (a read-only role, but it decrypts the stack's secrets)."),
        refProtectedInSub: z
            .boolean()
            .default(false)
            .describe("The project's ci_id_token_sub_claim_components ends in ref_protected (GitLab 18.7+): AWS then also requires ref_protected:true from deploys."),
        stateBucket: z
            .strictObject({
                name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: invalid("an S3 bucket name") }).describe("The state bucket's name."),
                prefix: z
                    .string()
                    .regex(/^([a-z0-9._-]+\/)*$/, { error: invalid(`a key prefix ending in '/' (or "")`) })
                    .default("")
                    .describe(`Where .pulumi/ lives in the bucket, s3://<name>/<prefix>: a key prefix ending in '/', or "" for the root.`),
            })
            .optional()
            .describe("The Pulumi state in S3 (the DIY backend): the bucket and key prefix the CI roles may use; unset: Pulumi Cloud."),
        secretsKeyAlias: z
            .string()
            .regex(/^alias\/[A-Za-z0-9/_-]+$/, { error: invalid("a KMS alias (alias/name)") })
            .optional()
            .describe("Alias (alias/…) of this stack's own KMS key behind its awskms:// secrets provider: one key per stack, or one stack's CI decrypts another's state."),
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
    })
    .describe(
        "The identity GitLab CI uses to preview and deploy this stack: GitLab's ID token is exchanged for short-lived AWS credentials, no access key exists anywhere (docs/decisions/deploy-identity.md, docs/operations/ci-setup.md).",
    );

export type CiConfig = z.output<typeof ciSchema>;
