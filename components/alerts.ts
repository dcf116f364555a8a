import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AlertsArgs {
    /** Optional address subscribed to the topic (AWS mails a confirmation link first). */
    readonly email?: string;
}

/**
 * The stack's alarm topic. Every alarm of every service notifies it.
 *
 * Not KMS-encrypted on purpose: CloudWatch cannot publish to a topic under the
 * AWS-managed SNS key, and alarm notifications carry only metric names and
 * states. A customer-managed key is the upgrade path if payloads ever change.
 */
export class Alerts extends pulumi.ComponentResource {
    readonly topicArn: pulumi.Output<string>;

    constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:alerts:Alerts", name, {}, opts);
        const topic = new aws.sns.Topic(name, {}, { parent: this });
        if (args.email !== undefined) {
            new aws.sns.TopicSubscription(`${name}-email`, { topic: topic.arn, protocol: "email", endpoint: args.email }, { parent: this });
        }
        this.topicArn = topic.arn;
        this.registerOutputs({ topicArn: this.topicArn });
    }
}
