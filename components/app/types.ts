import * as pulumi from "@pulumi/pulumi";
import { AccessLogTarget } from "../../aws/bucket";
import { StackContext } from "../../aws/context";
import { ClusterRef } from "../cluster";
import { DatabaseEndpoint } from "../database";
import { ImageRef } from "../ecrImage";
import { LoadBalancerRef } from "../loadBalancer";

/*
 * The package's shared vocabulary: the component's Args, and the settings its
 * files build from. It imports none of its siblings, so any file may import it
 * without an import cycle.
 */

export type DeploymentStrategy = "ROLLING" | "CANARY" | "BLUE_GREEN";

export interface DjangoServiceArgs {
    readonly context: StackContext;
    readonly cluster: ClusterRef;
    readonly vpcId: pulumi.Input<string>;
    /** Private subnets; tasks never get a public IP. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The shared ALB: its HTTPS listener gets a host rule for `hostName`. */
    readonly loadBalancer: LoadBalancerRef;
    readonly hostName: string;
    /** Unique per listener; services sharing the ALB each take their own. */
    readonly listenerPriority: number;
    /** Image by digest, and the repository the execution role may pull from. */
    readonly image: ImageRef;
    readonly cpu: number;
    readonly memory: number;
    /** Must match the image's platform. */
    readonly cpuArchitecture: "X86_64" | "ARM64";
    readonly port: number;
    readonly healthCheckPath: string;
    readonly desiredCount: number;
    readonly minCount: number;
    readonly maxCount: number;
    /** FARGATE_SPOT instead of FARGATE (dev). */
    readonly spot: boolean;
    readonly deployment: {
        readonly strategy: DeploymentStrategy;
        readonly bakeTimeMinutes: number;
        readonly canaryPercent: number;
        readonly canaryBakeTimeMinutes: number;
        /** The group that has the traffic now (see the config key app.deployment.liveTargetGroup). */
        readonly liveTargetGroup: "blue" | "green";
    };
    readonly autoscaling: {
        readonly cpuTarget: number;
        readonly requestsPerTarget: number;
        readonly scaleOutCooldown: number;
        readonly scaleInCooldown: number;
    };
    /** The master credentials' secret is read only by the migrate step; `resourceId` names the IAM login. */
    readonly database: DatabaseEndpoint;
    /** The web process's database user, an RDS IAM login the migrate step creates. Defaults to "app_web". */
    readonly databaseUser?: string;
    readonly alarms: {
        readonly topicArn: pulumi.Input<string>;
        readonly http5xxPercent: number;
        readonly p99LatencySeconds: number;
        readonly cpuPercent: number;
        readonly memoryPercent: number;
    };
    /** Where the media bucket's S3 server access logs go. */
    readonly accessLogs: AccessLogTarget;
    /** ECS Exec into the web container. */
    readonly execCommand: boolean;
    /** The commit the image was built from, shown by /version. */
    readonly commitSha: string;
    /** UID:GID the containers run as; the image's non-root user. Defaults to "10001:10001". */
    readonly user?: string;
}

/** The Args as the package's files read them: the defaults filled in. */
export type AppSettings = DjangoServiceArgs & { readonly user: string; readonly databaseUser: string };
