import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Naming } from "../facts/naming";
import { after } from "./ordering";

/**
 * A Secrets Manager secret holding one JSON document. A protected secret
 * keeps the 30-day recovery window; an unprotected one (dev) is deleted at
 * once so a stack can be torn down and rebuilt under the same names.
 */
export function jsonSecret(
    name: string,
    args: { readonly description: string; readonly protect: boolean; readonly naming: Naming; readonly value: pulumi.Input<Record<string, pulumi.Input<string | number>>> },
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    const secret = new aws.secretsmanager.Secret(
        name,
        // A prefix, not a fixed name: a secret pending deletion (30 days in prod) keeps its name.
        { namePrefix: `${args.naming.prefix}/${name}-`, description: args.description, recoveryWindowInDays: args.protect ? 30 : 0 },
        { ...opts, protect: args.protect },
    );
    const version = new aws.secretsmanager.SecretVersion(name, { secretId: secret.id, secretString: pulumi.jsonStringify(args.value) }, opts);
    // The ARN resolves once the value is stored: a task started earlier would find no value.
    return after(secret.arn, version);
}
