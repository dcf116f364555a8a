import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Naming } from "../facts/naming";

/** A CloudWatch log group that never keeps logs forever. */
export function logGroup(
    name: string,
    args: { readonly retentionInDays: number; readonly naming: Naming; readonly logGroupName?: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(
        name,
        {
            // A fixed name only where AWS writes to a name it chooses (RDS log exports).
            ...(args.logGroupName ? { name: args.logGroupName } : { namePrefix: `${args.naming.logGroupPrefix}${name}-` }),
            retentionInDays: args.retentionInDays,
        },
        opts,
    );
}

/** A container's logConfiguration: the awslogs driver into `group`, streams named `<prefix>/<container>/<task>`. */
export function awslogs(group: pulumi.Input<string>, region: string, prefix: string) {
    return { logDriver: "awslogs", options: { "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": prefix } };
}
