import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { packStatements, policyDocument, PolicyStatement } from "../../aws/iam";
import { ciIamPath, naming as namingOf, physicalName } from "../../facts/naming";
import { StackContext } from "../../aws/context";
import { accountDefaultVolumeKeyStatements, bucketStatements, deployStatements, policyScope, previewStatements, StackGrantNames, UNSCOPED } from "./grants";
import { ciAudience, ciRoleName, CI_ROLE_KINDS, CiRoleKind } from "./facts";

/** IAM's limit on one managed policy, in characters without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;
/** IAM's default quota of managed policies attached to one role. */
export const MANAGED_POLICIES_PER_ROLE = 10;
/**
 * How long one set of credentials lasts. The SDKs in Pulumi and its providers
 * assume the role again from the token file when they expire; a deploy job
 * (120 minutes) outlives them, so they need not outlive it.
 */
export const SESSION_SECONDS = 3600;

/**
 * The `sub` claim GitLab puts in a branch pipeline's ID token, by default
 * `project_path:<path>:ref_type:branch:ref:<branch>`. A merge request
 * pipeline carries its source branch; tags never match (ref_type:tag).
 * With `ref_protected` among the project's sub claim components, the claim
 * ends in `:ref_protected:true|false`.
 */
export function branchSubjects(projectPath: string, branches: readonly string[], refProtected: "absent" | "required" | "any"): string[] {
    const suffix = refProtected === "required" ? ":ref_protected:true" : refProtected === "any" ? ":ref_protected:*" : "";
    return branches.map((b) => `project_path:${projectPath}:ref_type:branch:ref:${b}${suffix}`);
}

/**
 * A trust policy for GitLab ID tokens. On a self-managed GitLab, AWS offers
 * only `sub` and `aud` as condition keys (no `ref_protected` or `environment`
 * of their own; STS's provider-specific claim keys cover GitHub, Google,
 * CircleCI and OCI, not GitLab): the audience, one per role, says which job
 * the token was issued to, and the subject which project and branch.
 */
export function webIdentityTrust(providerArn: string, issuerHost: string, audience: string, subjects: string[]): object {
    // StringLike when any subject is a pattern: an entry without `*` still matches only itself.
    const operator = subjects.some((s) => s.includes("*")) ? "StringLike" : "StringEquals";
    const conditions: Record<string, Record<string, string | string[]>> = { StringEquals: { [`${issuerHost}:aud`]: audience } };
    conditions[operator] = { ...conditions[operator], [`${issuerHost}:sub`]: subjects };
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Federated: providerArn }, Action: "sts:AssumeRoleWithWebIdentity", Condition: conditions }],
    };
}

/** The grants come from the catalogue (grants/); the stack names what only it knows (StackGrantNames). */
export interface DeployIdentityArgs extends StackGrantNames {
    /** The GitLab that issues the tokens (`$CI_SERVER_URL`). */
    readonly gitlabUrl: string;
    /** This repository's `group/project` on that GitLab. */
    readonly projectPath: string;
    /** Create GitLab's OIDC provider, or trust the one another stack of the account created. */
    readonly oidcProvider: "create" | "existing";
    /**
     * With `create`: the other stacks of this project whose roles trust the
     * provider this stack creates. IAM accepts a token only when its audience
     * is one of the provider's client IDs, so theirs are listed here too.
     */
    readonly oidcProviderSharedWith: readonly string[];
    /** Branches that may deploy (exact names; protected in GitLab). */
    readonly deployBranches: readonly string[];
    /** Branches that may preview (patterns allowed). */
    readonly previewBranches: readonly string[];
    /** The project's sub claim ends in `ref_protected` (docs/decisions/deploy-identity.md). */
    readonly refProtectedInSub: boolean;
    /**
     * The stack's buckets, by ARN (their names are Pulumi's auto-names): named
     * in one policy of their own per role, so the others' packing does not wait
     * for them (grants/ bucketStatements).
     */
    readonly bucketArns: pulumi.Input<string[]>;
    /**
     * The stack's Gitaly volume is on the account's default EBS key
     * (`encryptionKey: accountDefault`), which carries no stack tag: the deploy
     * role may also have EC2 use that key (a restore from a snapshot), named
     * by a lookup of the default in the role's `resources` policy
     * (grants/compute.ts accountDefaultVolumeKeyStatements).
     */
    readonly volumeOnAccountDefaultKey: boolean;
    readonly context: StackContext;
}

/**
 * The identity GitLab CI uses in this stack: GitLab's IAM OIDC provider (one
 * per account) and two roles, `ci-preview` (reads, for merge requests and the
 * drift check) and `ci-deploy` (for `pulumi up` from the deploy branches).
 * Both live under their own IAM path, outside the one the deploy role manages,
 * so CI cannot change its own rights: changes here are an administrator's
 * `pulumi up` (docs/decisions/deploy-identity.md).
 */
export class DeployIdentity extends pulumi.ComponentResource {
    readonly oidcProviderArn: pulumi.Output<string>;
    readonly deployRoleArn: pulumi.Output<string>;
    readonly previewRoleArn: pulumi.Output<string>;

    constructor(name: string, args: DeployIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:ci:DeployIdentity", name, {}, opts);
        const parent = { parent: this };
        const { accountId, naming, protect } = args.context;
        const issuerHost = args.gitlabUrl.replace(/^https:\/\//, "");
        const scope = (account: string) => policyScope(args.context, account, issuerHost, args);
        const buckets = pulumi.output(args.bucketArns);
        const path = ciIamPath(naming);

        const providerArn = args.oidcProvider === "existing"
            ? pulumi.interpolate`arn:aws:iam::${accountId}:oidc-provider/${issuerHost}`
            : new aws.iam.OpenIdConnectProvider(
                `${name}-gitlab`,
                {
                    url: args.gitlabUrl,
                    // Every role's audience of each stack that trusts this provider (an in-place update when one joins).
                    clientIdLists: [naming.stack, ...args.oidcProviderSharedWith].flatMap((stack) => CI_ROLE_KINDS.map((kind) => ciAudience(namingOf(naming.project, stack), kind))),
                    // No thumbprints: IAM fetches and checks the issuer's certificate chain itself.
                },
                parent,
            ).arn;

        const role = (suffix: CiRoleKind, subjects: string[], statements: (accountId: string) => PolicyStatement[], resourceStatements: pulumi.Input<PolicyStatement[]>) => {
            const r = new aws.iam.Role(
                `${name}-${suffix}`,
                {
                    name: ciRoleName(naming, suffix),
                    path,
                    description: `GitLab CI (${args.projectPath}) ${suffix} for stack ${naming.prefix}`,
                    maxSessionDuration: SESSION_SECONDS,
                    // Only tokens issued for this role: its own audience (facts.ts ciAudience).
                    assumeRolePolicy: providerArn.apply((arn) => JSON.stringify(webIdentityTrust(arn, issuerHost, ciAudience(naming, suffix), subjects))),
                },
                parent,
            );
            // A managed policy under the CI path, attached to this role.
            const attach = (id: string, document: pulumi.Input<string>) => {
                const policy = new aws.iam.Policy(`${name}-${suffix}-${id}`, { name: physicalName(naming, `ci-${suffix}-${id}`, 128), path, policy: document }, parent);
                return new aws.iam.RolePolicyAttachment(`${name}-${suffix}-${id}`, { role: r.name, policyArn: policy.arn }, parent);
            };
            // The number of policies must be known before the account is: packing
            // uses an account id of the same length (always 12 digits).
            const chunks = packStatements(statements("000000000000"), MANAGED_POLICY_MAX_CHARS);
            if (chunks.length + 1 > MANAGED_POLICIES_PER_ROLE) {
                throw new Error(`ci-${suffix} needs ${chunks.length + 1} managed policies; IAM attaches at most ${MANAGED_POLICIES_PER_ROLE} to a role`);
            }
            const packed = pulumi.output(accountId).apply((account) => packStatements(statements(account), MANAGED_POLICY_MAX_CHARS));
            const attachments = [
                attach(
                    "resources",
                    pulumi.output(resourceStatements).apply((st) => {
                        if (packStatements(st, MANAGED_POLICY_MAX_CHARS).length > 1) {
                            throw new Error(`ci-${suffix}-resources: the stack's resources no longer fit one policy of ${MANAGED_POLICY_MAX_CHARS} characters`);
                        }
                        return policyDocument(st, UNSCOPED);
                    }),
                ),
                ...chunks.map((_, i) => attach(String(i + 1), packed.apply((p) => policyDocument(p[i], UNSCOPED)))),
            ];
            // The ARN handed to the pipeline works only once every grant is attached.
            return pulumi.all([r.arn, ...attachments.map((a) => a.id)]).apply(([arn]) => arn);
        };

        // The default key's ARN is known only at run time (and an alias ARN is not a key ARN's length),
        // so its statements join the buckets' in the role's own `resources` policy.
        const defaultKey = args.volumeOnAccountDefaultKey ? aws.ebs.getDefaultKmsKeyOutput({}, parent).keyArn : undefined;
        const deployResources = pulumi
            .all([buckets, defaultKey])
            .apply(([arns, key]) => [...bucketStatements(arns, protect, "all"), ...(key ? accountDefaultVolumeKeyStatements(args.context.region, key) : [])]);
        const refProtected = args.refProtectedInSub ? "required" : "absent";
        this.oidcProviderArn = providerArn;
        this.deployRoleArn = role("deploy", branchSubjects(args.projectPath, args.deployBranches, refProtected), (a) => deployStatements(scope(a)), deployResources);
        this.previewRoleArn = role("preview", branchSubjects(args.projectPath, args.previewBranches, args.refProtectedInSub ? "any" : "absent"), (a) => previewStatements(scope(a)), buckets.apply((arns) => bucketStatements(arns, protect, "read")));
        this.registerOutputs({ oidcProviderArn: this.oidcProviderArn, deployRoleArn: this.deployRoleArn, previewRoleArn: this.previewRoleArn });
    }
}
