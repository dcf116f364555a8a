import { PolicyStatement } from "../../../aws/iam";

/**
 * What GitLab CI may do to this stack: the rights of `ci-deploy` (`pulumi up`
 * and `destroy`) and `ci-preview` (`pulumi preview` and `refresh`), built
 * from one catalogue of grants, one per AWS resource type (or tool) the
 * program uses. Each grant lists the IAM actions the provider's create, read,
 * update and delete call for the inputs this program sets (from
 * terraform-provider-aws's source, which @pulumi/aws bridges;
 * tests/fixtures/providerActions.json, checked against these grants) and
 * says where they apply:
 *
 * - `named`: the resource has a name this program chooses (`<project>-<stack>-…`,
 *   log groups under `/<project>/<stack>/`), so the actions apply to those ARNs;
 * - `tagged`: AWS names it (`sg-…`, `fs-…`), so a create must carry this
 *   stack's `stack` tag (the provider's default tags put it on every create),
 *   tags may be written by a create only, and everything else needs the
 *   resource (and any resource a create builds on: the VPC of a subnet) to
 *   carry the tag already;
 * - `account`: neither works (the reason is in the grant);
 * - `custom`: statements of their own (`ec2:RunInstances`).
 *
 * Never granted, so an administrator's change (ci/adminGate.ts stops a CI
 * deploy that needs one): IAM roles, their policies and instance profiles,
 * GitLab CI's own identity, KMS keys and aliases, new S3 buckets. Whoever
 * writes those decides what any code the stack runs may do.
 */


import { NETWORK_GRANTS } from "./network";
import { COMPUTE_GRANTS } from "./compute";
import { OBSERVABILITY_GRANTS } from "./observability";
import { IDENTITY_GRANTS } from "./identity";
import { ORCHESTRATION_GRANTS } from "./orchestration";
import { DATA_GRANTS } from "./data";
export { accountDefaultVolumeKeyStatements } from "./compute";
import { arn, bare, BUCKET_DESTROY, BUCKET_READS, BUCKET_WRITES, Grant, PolicyScope, STACK_TAG, UNSCOPED } from "./model";

export { ADMIN_CREATES, BUCKET_DESTROY, BUCKET_READS, BUCKET_WRITES, Grant, PASSED_TO, PolicyScope, policyScope, SERVICE_LINKED_ROLES, StackGrantNames, UNSCOPED } from "./model";

/** The whole catalogue, in the order its statements appear in the roles' policies. */
export const GRANTS: readonly Grant[] = [...NETWORK_GRANTS, ...COMPUTE_GRANTS, ...OBSERVABILITY_GRANTS, ...IDENTITY_GRANTS, ...ORCHESTRATION_GRANTS, ...DATA_GRANTS];

const isUnscoped = (a: string) => UNSCOPED.includes(a);
const unique = (xs: readonly string[]) => [...new Set(xs)];

function statementsFor(grants: readonly Grant[], s: PolicyScope, pick: "read" | "all"): PolicyStatement[] {
    const out: PolicyStatement[] = [];
    const anywhere = new Set<string>();
    const tag = `aws:ResourceTag/${STACK_TAG}`;
    for (const g of grants) {
        const scoping = g.scope(s);
        const allWrites = pick === "all" ? [...g.write, ...(s.protect ? [] : (g.unprotectedOnly ?? []))] : [];
        if (scoping.kind === "custom") {
            if (allWrites.length > 0) {
                out.push(...scoping.statements);
            }
            g.read.filter(isUnscoped).forEach((a) => anywhere.add(a));
            continue;
        }
        // A tagged grant's creates keep their tag condition, even where AWS authorizes them on `*`.
        const creates = scoping.kind === "tagged" ? scoping.create.map((c) => c.action) : [];
        const reads = g.read.filter((a) => !isUnscoped(a));
        const writes = allWrites.filter((a) => !isUnscoped(a) || creates.includes(a));
        for (const a of [...g.read, ...allWrites].filter((a) => isUnscoped(a) && !creates.includes(a))) {
            anywhere.add(a);
        }
        if (scoping.kind === "named" || scoping.kind === "account") {
            const actions = unique([...reads, ...writes]);
            const conditions = scoping.conditions && Object.keys(scoping.conditions).length > 0 ? { conditions: scoping.conditions } : {};
            // (No resources: the grant does not apply to this stack, e.g. PromotedImages without promoteFrom.)
            if (actions.length > 0 && scoping.resources.length > 0) {
                out.push({ sid: g.sid, actions, resources: scoping.resources, ...conditions });
            }
            continue;
        }
        if (reads.length > 0) {
            out.push({ sid: `${g.sid}Read`, actions: reads, resources: scoping.resources });
        }
        const requestTag = { [`aws:RequestTag/${STACK_TAG}`]: s.naming.stack };
        const notYetTagged = { Null: { [tag]: "true" } };
        // One statement per set of ARNs created on, and per create-or-update.
        const groups = new Map<string, { on: readonly string[]; orUpdate: boolean; actions: string[] }>();
        for (const c of scoping.create.filter((c) => writes.includes(c.action))) {
            const key = JSON.stringify([c.on, c.orUpdate ?? false]);
            const group = groups.get(key) ?? { on: c.on, orUpdate: c.orUpdate ?? false, actions: [] };
            group.actions.push(c.action);
            groups.set(key, group);
        }
        [...groups.values()].forEach((group, i) => {
            out.push({
                sid: `${g.sid}Create${groups.size > 1 ? i + 1 : ""}`,
                actions: group.actions,
                resources: [...group.on],
                conditions: { StringEquals: requestTag, ...(group.orUpdate ? notYetTagged : {}) },
            });
        });
        const tagging = scoping.tagOnCreate && writes.includes(scoping.tagOnCreate.action) ? scoping.tagOnCreate : undefined;
        if (tagging) {
            out.push({
                sid: `${g.sid}TagOnCreate`,
                actions: [tagging.action],
                resources: scoping.resources,
                conditions: tagging.createActionKey
                    ? { StringEquals: { ...requestTag, [tagging.createActionKey]: bare(tagging.creates ?? creates) } }
                    // No create-action key: only a resource without a stack tag, i.e. one being created.
                    : { StringEquals: requestTag, ...notYetTagged },
            });
        }
        // Everything else, and the creates again for the resources a create builds on
        // (the VPC of a subnet): those already carry the tag.
        const change = writes.filter((a) => !isUnscoped(a));
        if (change.length > 0) {
            out.push({ sid: `${g.sid}Change`, actions: change, resources: scoping.resources, conditions: { StringEquals: { [tag]: s.naming.stack } } });
        }
    }
    if (anywhere.size > 0) {
        out.unshift({ sid: "Unscoped", actions: [...anywhere].sort(), resources: ["*"] });
    }
    return out;
}

/** The deploy role's statements: everything `pulumi up` and `pulumi destroy` of this program call. */
export function deployStatements(s: PolicyScope): PolicyStatement[] {
    return [...statementsFor(GRANTS, s, "all"), ...stateStatements(s, "all")];
}

/** The preview role's statements: reads only; it changes nothing, not even the state. */
export function previewStatements(s: PolicyScope): PolicyStatement[] {
    return [...statementsFor(GRANTS, s, "read"), ...stateStatements(s, "read")];
}

/**
 * This stack's S3 buckets, by ARN: their names are Pulumi's auto-names
 * without the stack's prefix, so the stack hands them over. A new bucket
 * therefore changes this statement, an administrator's change like its
 * create. Object deletes only where forceDestroy empties buckets.
 */
export function bucketStatements(bucketArns: readonly string[], protect: boolean, pick: "read" | "all"): PolicyStatement[] {
    if (bucketArns.length === 0) {
        return [];
    }
    const writes = pick === "all" ? [...BUCKET_WRITES, ...(protect ? [] : BUCKET_DESTROY)] : [];
    const out: PolicyStatement[] = [{ sid: "Buckets", actions: unique([...BUCKET_READS, ...writes.filter((a) => !a.includes("Object"))]), resources: [...bucketArns] }];
    const objectWrites = writes.filter((a) => a.includes("Object"));
    if (objectWrites.length > 0) {
        out.push({ sid: "BucketObjects", actions: objectWrites, resources: bucketArns.map((b) => `${b}/*`) });
    }
    return out;
}

/**
 * The Pulumi state: this stack's files under `<prefix>.pulumi/` of the DIY
 * backend's bucket (pulumi pkg/backend/diy: stacks/, history/, backups/,
 * locks/organization/) and decryption with this stack's secrets key, found by
 * its alias. A preview takes no lock, so it only reads.
 */
function stateStatements(s: PolicyScope, pick: "read" | "all"): PolicyStatement[] {
    const out: PolicyStatement[] = [];
    if (s.stateBucket) {
        const bucket = `arn:aws:s3:::${s.stateBucket.name}`;
        const root = `${bucket}/${s.stateBucket.prefix}.pulumi`;
        const own = [
            `${root}/stacks/${s.naming.project}/${s.naming.stack}.json*`,
            `${root}/history/${s.naming.project}/${s.naming.stack}/*`,
            `${root}/backups/${s.naming.project}/${s.naming.stack}/*`,
            `${root}/locks/organization/${s.naming.project}/${s.naming.stack}/*`,
        ];
        out.push({ sid: "StateList", actions: ["s3:ListBucket"], resources: [bucket] });
        out.push({ sid: "StateMeta", actions: ["s3:GetObject"], resources: [`${root}/meta.yaml`] });
        out.push({ sid: "StateObjects", actions: pick === "all" ? ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] : ["s3:GetObject"], resources: own });
    }
    if (s.secretsKeyAlias) {
        out.push({
            sid: "StateSecrets",
            actions: pick === "all" ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
            resources: [arn(s, "kms", "key/*")],
            conditions: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": [s.secretsKeyAlias] } },
        });
    }
    return out;
}
