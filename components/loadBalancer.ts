import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { secureBucket } from "../lib/bucket";

/** TLS 1.3 with TLS 1.2 fallback for older clients; no TLS 1.0/1.1, no CBC suites. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface PublicLoadBalancerArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets, one per AZ (Security Hub ELB.13 wants at least two). */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The network's load-balancer security group (80/443 from the world). */
    readonly securityGroupId: pulumi.Input<string>;
    /** Route 53 public zone that holds the host names. */
    readonly zoneName: string;
    /** Every host name served; each gets an alias record and a place on the certificate. */
    readonly hostNames: readonly string[];
    /** Use this ACM certificate instead of issuing one. */
    readonly certificateArn?: string;
    readonly deletionProtection: boolean;
    readonly desyncMitigation: "defensive" | "strictest";
    readonly accessLogDays: number;
    readonly idleTimeout: number;
    /** The account whose logs the ELB service may write. */
    readonly accountId: pulumi.Input<string>;
    /** Protect the access-log bucket (prod). */
    readonly protect: boolean;
}

/**
 * One internet-facing ALB per stack, shared by the services through host-name
 * listener rules: one ALB, one certificate and one set of listeners to pay for
 * and watch, instead of one per service. HTTP only redirects to HTTPS; HTTPS
 * answers 404 to any host no service claimed.
 */
export class PublicLoadBalancer extends pulumi.ComponentResource {
    readonly arn: pulumi.Output<string>;
    readonly arnSuffix: pulumi.Output<string>;
    readonly dnsName: pulumi.Output<string>;
    readonly httpsListenerArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly accessLogBucket: pulumi.Output<string>;
    readonly certificateArn: pulumi.Output<string>;

    constructor(name: string, args: PublicLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:lb:PublicLoadBalancer", name, {}, opts);
        const a = args;
        const parent = { parent: this };

        const zone = aws.route53.getZoneOutput({ name: a.zoneName, privateZone: false }, parent);
        const certificateArn = a.certificateArn !== undefined ? pulumi.output(a.certificateArn) : this.issueCertificate(name, a.hostNames, zone.zoneId);

        const elbAccount = aws.elb.getServiceAccountOutput({}, parent);
        const logs = secureBucket(
            `${name}-access-logs`,
            {
                versioning: false,
                protect: a.protect,
                encryption: "AES256",
                expireDays: a.accessLogDays,
                // The regional ELB account writes the logs (regions older than 2022 accept only it).
                extraStatements: (bucketArn) => [
                    { Sid: "AlbLogDelivery", Effect: "Allow", Principal: { AWS: elbAccount.arn }, Action: "s3:PutObject", Resource: pulumi.interpolate`${bucketArn}/alb/AWSLogs/${a.accountId}/*` },
                ],
            },
            parent,
        );

        const lb = new aws.lb.LoadBalancer(
            name,
            {
                loadBalancerType: "application",
                internal: false,
                subnets: a.subnetIds,
                securityGroups: [a.securityGroupId],
                dropInvalidHeaderFields: true,
                desyncMitigationMode: a.desyncMitigation,
                enableDeletionProtection: a.deletionProtection,
                enableHttp2: true,
                idleTimeout: a.idleTimeout,
                accessLogs: { bucket: logs.bucket.bucket, prefix: "alb", enabled: true },
            },
            // ELB checks it can write to the bucket when logging is enabled.
            { ...parent, dependsOn: [logs.policy] },
        );

        const https = new aws.lb.Listener(
            `${name}-https`,
            {
                loadBalancerArn: lb.arn,
                port: 443,
                protocol: "HTTPS",
                sslPolicy: TLS_POLICY,
                certificateArn,
                defaultActions: [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "not found" } }],
            },
            parent,
        );
        new aws.lb.Listener(
            `${name}-http`,
            {
                loadBalancerArn: lb.arn,
                port: 80,
                protocol: "HTTP",
                defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
            },
            parent,
        );

        for (const host of a.hostNames) {
            new aws.route53.Record(
                `${name}-${host}`,
                { zoneId: zone.zoneId, name: host, type: "A", aliases: [{ name: lb.dnsName, zoneId: lb.zoneId, evaluateTargetHealth: true }] },
                parent,
            );
        }

        this.arn = lb.arn;
        this.arnSuffix = lb.arnSuffix;
        this.dnsName = lb.dnsName;
        this.httpsListenerArn = https.arn;
        this.securityGroupId = pulumi.output(a.securityGroupId);
        this.accessLogBucket = logs.bucket.bucket;
        this.certificateArn = certificateArn;
        this.registerOutputs({
            arn: this.arn,
            dnsName: this.dnsName,
            httpsListenerArn: this.httpsListenerArn,
            accessLogBucket: this.accessLogBucket,
            certificateArn: this.certificateArn,
        });
    }

    /** An ACM certificate for every host, DNS-validated in the zone; resolves once ACM has issued it. */
    private issueCertificate(name: string, hostNames: readonly string[], zoneId: pulumi.Input<string>): pulumi.Output<string> {
        const parent = { parent: this };
        const [primary, ...others] = hostNames;
        const cert = new aws.acm.Certificate(
            `${name}-cert`,
            { domainName: primary, subjectAlternativeNames: others, validationMethod: "DNS", keyAlgorithm: "EC_prime256v1" },
            { ...parent, deleteBeforeReplace: false },
        );
        const records = hostNames.map((host) => {
            const option = cert.domainValidationOptions.apply((opts) => {
                const o = opts.find((x) => x.domainName === host);
                if (!o) {
                    throw new Error(`ACM returned no validation record for ${host}`);
                }
                return o;
            });
            return new aws.route53.Record(
                `${name}-cert-${host}`,
                { zoneId, name: option.resourceRecordName, type: option.resourceRecordType, records: [option.resourceRecordValue], ttl: 300, allowOverwrite: true },
                parent,
            );
        });
        const validation = new aws.acm.CertificateValidation(
            `${name}-cert`,
            { certificateArn: cert.arn, validationRecordFqdns: records.map((r) => r.fqdn) },
            parent,
        );
        return validation.certificateArn;
    }
}
