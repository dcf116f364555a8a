import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { secureBucket } from "../aws/bucket";
import { naming, physicalName } from "../facts/naming";
import { BootstrapConfig } from "./config";
import { backendUrl, loginCommand, stackInitCommand } from "./commands";

/** What the operator needs next: the names to put in the stack files and the commands to paste. */
export interface StateBackend {
    readonly stateBucketName: pulumi.Output<string>;
    readonly region: pulumi.Output<string>;
    /** CI's PULUMI_BACKEND_URL. */
    readonly backendUrl: pulumi.Output<string>;
    readonly loginCommand: pulumi.Output<string>;
    /** Per stack: the alias its `ci.secretsKeyAlias` names. */
    readonly secretsKeyAliases: pulumi.Output<Record<string, string>>;
    /** Per stack: `pulumi stack init` with its own key as secrets provider. */
    readonly stackInitCommands: pulumi.Output<Record<string, string>>;
}

/** `alias/<project>-<stack>-pulumi`: the name the platform's stack files give their secrets key. */
export function secretsKeyAlias(project: string, stack: string): string {
    return `alias/${physicalName(naming(project, stack), "pulumi", 256 - "alias/".length)}`;
}

/**
 * Pulumi's DIY backend for the platform project: one S3 bucket for every
 * stack's state and one KMS key per stack for its secrets. All of it is
 * protected: losing the bucket loses every stack's record of what it owns,
 * losing a key makes that stack's secrets unreadable.
 */
export function stateBackend(cfg: BootstrapConfig): StateBackend {
    const tags = { project: cfg.project, purpose: "pulumi-state", "managed-by": "pulumi" };
    const provider = new aws.Provider("aws", { region: cfg.region as aws.Region, defaultTags: { tags } });
    const opts = { provider };
    const prefix = cfg.bucketPrefix ?? aws.getCallerIdentityOutput({}, opts).accountId;
    const { bucket } = secureBucket(
        "state",
        {
            bucketName: pulumi.interpolate`${prefix}-${cfg.project}-pulumi-state`,
            // Old versions are the undo of a bad write to a stack's state file.
            versioning: true,
            protect: true,
            // SSE-S3: the CI roles are granted the state objects and their own stack's key, no other key.
            encryption: "AES256",
        },
        opts,
    );
    const aliases = Object.fromEntries(cfg.stacks.map((stack) => [stack, secretsKeyAlias(cfg.project, stack)]));
    for (const [stack, alias] of Object.entries(aliases)) {
        const key = new aws.kms.Key(
            `secrets-${stack}`,
            { description: `Pulumi secrets of ${cfg.project}'s ${stack} stack`, enableKeyRotation: true, deletionWindowInDays: 30 },
            { ...opts, protect: true },
        );
        new aws.kms.Alias(`secrets-${stack}`, { name: alias, targetKeyId: key.keyId }, { ...opts, protect: true });
    }
    const name = bucket.bucket;
    return {
        stateBucketName: name,
        region: pulumi.output(cfg.region),
        backendUrl: name.apply((b) => backendUrl(b, cfg.region)),
        loginCommand: name.apply((b) => loginCommand(b, cfg.region)),
        secretsKeyAliases: pulumi.output(aliases),
        stackInitCommands: pulumi.output(Object.fromEntries(Object.entries(aliases).map(([stack, alias]) => [stack, stackInitCommand(stack, alias, cfg.region)]))),
    };
}
