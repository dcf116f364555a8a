import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { s3AccessLogDelivery, SecureBucket, secureBucket } from "../aws/bucket";
import { logGroup } from "../aws/logs";
import { StackContext } from "../aws/context";
import { physicalName } from "../facts/naming";

/**
 * The ELB account that writes access logs in each region opened before
 * August 2022 (AWS: "Enable access logs for your Application Load Balancer").
 * Regions opened since have no such account: there the log-delivery service
 * principal writes. The list is closed: no new region will join it.
 */
export const ELB_LOG_ACCOUNTS: Readonly<Record<string, string>> = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-south-1": "635631232127",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
};

/** Who writes ALB access logs in `region`: the regional ELB account, or the log-delivery service. */
export function albLogDeliveryPrincipal(region: string): { AWS: string } | { Service: string } {
    const account = ELB_LOG_ACCOUNTS[region];
    return account ? { AWS: `arn:aws:iam::${account}:root` } : { Service: "logdelivery.elasticloadbalancing.amazonaws.com" };
}

/** AWS managed rule groups on the ALB: OWASP-style common rules, known bad inputs, IP reputation. */
export const WAF_MANAGED_RULE_GROUPS = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"] as const;

/** A WAF scope-down statement matching every request whose Host is none of `hosts`; undefined when there are none. */
export function exemptScopeDown(hosts: readonly string[]) {
    const isHost = (host: string) => ({
        byteMatchStatement: {
            fieldToMatch: { singleHeader: { name: "host" } },
            positionalConstraint: "EXACTLY",
            searchString: host,
            textTransformations: [{ priority: 0, type: "LOWERCASE" }],
        },
    });
    if (hosts.length === 0) {
        return undefined;
    }
    // WAF's OR takes at least two statements.
    return { notStatement: { statement: hosts.length === 1 ? isHost(hosts[0]) : { orStatement: { statements: hosts.map(isHost) } } } };
}

/** TLS 1.3 with TLS 1.2 fallback for older clients; no TLS 1.0/1.1, no CBC suites. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface PublicLoadBalancerArgs {
    /**
     * The region (it decides who may write access logs, see ELB_LOG_ACCOUNTS), the
     * account whose logs the ELB service may write, naming, the WAF log group's
     * retention; `protect` protects the access-log bucket (prod).
     */
    readonly context: StackContext;
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets, one per AZ (Security Hub ELB.13 wants at least two). */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The network's load-balancer security group (80/443 from the world). */
    readonly securityGroupId: pulumi.Input<string>;
    /** Route 53 public zone that holds the host names. */
    readonly zoneName: string;
    /** Every host name served; each gets an alias record and a place on the certificate. */
    readonly hostNames: readonly string[];
    /** Names the certificate also covers that are not served by this ALB (e.g. the SSH host behind an NLB). */
    readonly certificateOnlyHostNames?: readonly string[];
    /** Use this ACM certificate instead of issuing one. */
    readonly certificateArn?: string;
    readonly deletionProtection: boolean;
    readonly desyncMitigation: "defensive" | "strictest";
    readonly accessLogDays: number;
    readonly idleTimeout: number;
    /**
     * AWS WAF web ACL on the ALB; undefined: none. `exemptHostNames` are
     * left out of the common rule set and the rate limit (GitLab and its
     * registry: CI runners poll, and merge requests, snippets and pushes carry
     * bodies those rules block); the IP reputation and known-bad-input rules
     * still cover them.
     */
    readonly waf?: { readonly rateLimitPer5Minutes: number; readonly exemptHostNames?: readonly string[] };
}

/** A host rule on the HTTPS listener. */
export interface RouteArgs {
    readonly host: string;
    /** Unique per listener; lower is evaluated first. */
    readonly priority: number;
    /**
     * One group, or two (canary/blue-green: in a fixed order, blue then green)
     * of which `live` gets all traffic. ECS moves the weights during and after
     * such deployments, so they are ECS's: re-applying ours would send traffic
     * back to a group that may be empty. A changed group or rule still reaches AWS.
     */
    readonly targetGroups: readonly aws.lb.TargetGroup[];
    readonly live: aws.lb.TargetGroup;
}

/** The shared ALB as its services use it. */
export interface LoadBalancerRef {
    readonly arnSuffix: pulumi.Output<string>;
    readonly httpsListenerArn: pulumi.Output<string>;
    /** The ALB's security group: services open their port to it. */
    readonly securityGroupId: pulumi.Output<string>;
    /** The public hosted zone the stack's names live in. */
    readonly zoneId: pulumi.Output<string>;
    /** The stack's log bucket (S3 server access logs go under its `s3/` prefix). */
    readonly accessLogBucket: pulumi.Output<string>;
    /** The ALB's idle timeout in seconds: a backend keeps idle connections open longer (backendKeepAliveSeconds). */
    readonly idleTimeout: number;
    /** A host rule created as `parent`'s child (its URN depends on it), so it belongs to the service it routes to. */
    route(name: string, args: RouteArgs, parent: pulumi.Resource): aws.lb.ListenerRule;
}

/**
 * A host rule on the HTTPS listener `listenerArn`, a child of `parent`: the
 * body of LoadBalancerRef.route, for any value that has the listener's ARN.
 */
export function hostRule(listenerArn: pulumi.Input<string>, name: string, args: RouteArgs, parent: pulumi.Resource): aws.lb.ListenerRule {
    if (!args.targetGroups.includes(args.live)) {
        throw new Error(`${name}: the live target group is not one of the rule's targetGroups`);
    }
    const weighted = args.targetGroups.length > 1;
    return new aws.lb.ListenerRule(
        name,
        {
            listenerArn,
            priority: args.priority,
            conditions: [{ hostHeader: { values: [args.host] } }],
            actions: [
                weighted
                    ? { type: "forward", forward: { targetGroups: args.targetGroups.map((g) => ({ arn: g.arn, weight: g === args.live ? 100 : 0 })) } }
                    : { type: "forward", targetGroupArn: args.live.arn },
            ],
        },
        { parent, ignoreChanges: weighted ? ["actions[*].forward.targetGroups[*].weight"] : [] },
    );
}

/**
 * One internet-facing ALB per stack, shared by the services through host-name
 * listener rules: one ALB, one certificate and one set of listeners to pay for
 * and watch, instead of one per service. HTTP only redirects to HTTPS; HTTPS
 * answers 404 to any host no service claimed.
 */
export class PublicLoadBalancer extends pulumi.ComponentResource implements LoadBalancerRef {
    readonly arn: pulumi.Output<string>;
    readonly arnSuffix: pulumi.Output<string>;
    readonly dnsName: pulumi.Output<string>;
    readonly httpsListenerArn: pulumi.Output<string>;
    readonly securityGroupId: pulumi.Output<string>;
    readonly accessLogBucket: pulumi.Output<string>;
    readonly certificateArn: pulumi.Output<string>;
    /** The public hosted zone the stack's names live in. */
    readonly zoneId: pulumi.Output<string>;
    readonly idleTimeout: number;
    /**
     * The WAF web ACL's CloudWatch metric name: its AWS/WAFV2 metrics carry it as
     * the WebACL dimension (the visibility config's MetricName, not the ACL's
     * name); undefined without WAF.
     */
    readonly webAclMetricName?: pulumi.Output<string>;

    constructor(name: string, args: PublicLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:lb:PublicLoadBalancer", name, {}, opts);
        const a = args;
        const parent = { parent: this };

        const zone = aws.route53.getZoneOutput({ name: a.zoneName, privateZone: false }, parent);
        const certificateArn = a.certificateArn !== undefined ? pulumi.output(a.certificateArn) : this.issueCertificate(name, [...a.hostNames, ...(a.certificateOnlyHostNames ?? [])], zone.zoneId);
        const logs = accessLogBucket(`${name}-access-logs`, a.context, a.accessLogDays, parent);

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

        if (a.waf) {
            this.webAclMetricName = this.protectWithWaf(name, lb.arn, a.waf.rateLimitPer5Minutes, a.waf.exemptHostNames ?? [], a.context);
        }
        const https = listeners(name, lb.arn, certificateArn, parent);
        for (const host of a.hostNames) {
            new aws.route53.Record(
                `${name}-${host}`,
                { zoneId: zone.zoneId, name: host, type: "A", aliases: [{ name: lb.dnsName, zoneId: lb.zoneId, evaluateTargetHealth: true }] },
                parent,
            );
        }

        this.arn = lb.arn;
        this.idleTimeout = a.idleTimeout;
        this.arnSuffix = lb.arnSuffix;
        this.dnsName = lb.dnsName;
        this.httpsListenerArn = https.arn;
        this.securityGroupId = pulumi.output(a.securityGroupId);
        this.accessLogBucket = logs.bucket.bucket;
        this.certificateArn = certificateArn;
        this.zoneId = zone.zoneId;
        this.registerOutputs({
            arn: this.arn,
            dnsName: this.dnsName,
            httpsListenerArn: this.httpsListenerArn,
            accessLogBucket: this.accessLogBucket,
            certificateArn: this.certificateArn,
        });
    }

    route(name: string, args: RouteArgs, parent: pulumi.Resource): aws.lb.ListenerRule {
        return hostRule(this.httpsListenerArn, name, args, parent);
    }

    /**
     * A regional web ACL on the ALB: AWS managed rule groups and a per-IP rate
     * limit that blocks, with every request WAF blocks or counts logged; returns the ACL's metric name.
     */
    private protectWithWaf(name: string, loadBalancerArn: pulumi.Input<string>, rateLimit: number, exempt: readonly string[], context: StackContext): pulumi.Output<string> {
        const parent = { parent: this };
        const { naming } = context;
        const scopeDown = exemptScopeDown(exempt);
        const aclName = physicalName(naming, name, 128);
        const visibility = (metric: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `${aclName}-${metric}` });
        const acl = new aws.wafv2.WebAcl(
            `${name}-waf`,
            {
                name: aclName,
                scope: "REGIONAL",
                defaultAction: { allow: {} },
                visibilityConfig: visibility("all"),
                rules: [
                    ...WAF_MANAGED_RULE_GROUPS.map((group, i) => ({
                        name: group,
                        priority: 10 * (i + 1),
                        overrideAction: { none: {} },
                        statement: {
                            managedRuleGroupStatement: {
                                vendorName: "AWS",
                                name: group,
                                // The common rule set blocks request bodies over 8 KB; git over HTTPS and
                                // uploads send larger ones, and the apps bound their own body sizes.
                                ...(group === "AWSManagedRulesCommonRuleSet"
                                    ? { ruleActionOverrides: [{ name: "SizeRestrictions_BODY", actionToUse: { count: {} } }], ...(scopeDown ? { scopeDownStatement: scopeDown } : {}) }
                                    : {}),
                            },
                        },
                        visibilityConfig: visibility(group),
                    })),
                    {
                        name: "rate-limit-per-ip",
                        priority: 1,
                        action: { block: {} },
                        statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: "IP", evaluationWindowSec: 300, ...(scopeDown ? { scopeDownStatement: scopeDown } : {}) } },
                        visibilityConfig: visibility("rate-limit"),
                    },
                ],
            },
            parent,
        );
        new aws.wafv2.WebAclAssociation(`${name}-waf`, { resourceArn: loadBalancerArn, webAclArn: acl.arn }, parent);
        // WAF writes only to log groups whose name starts with aws-waf-logs-.
        const logs = logGroup(`${name}-waf-logs`, { retentionInDays: context.logRetentionDays, naming, logGroupName: `aws-waf-logs-${aclName}` }, parent);
        new aws.wafv2.WebAclLoggingConfiguration(`${name}-waf`, { resourceArn: acl.arn, logDestinationConfigs: [logs.arn] }, parent);
        return acl.visibilityConfig.metricName;
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

/**
 * The log bucket of the stack: ALB access logs under alb/, and every data
 * bucket's S3 server access logs under s3/ (SSE-S3 suits both).
 */
function accessLogBucket(name: string, context: StackContext, expireDays: number, opts: pulumi.CustomResourceOptions): SecureBucket {
    const { accountId } = context;
    return secureBucket(
        name,
        {
            versioning: false,
            protect: context.protect,
            encryption: "AES256",
            expireDays,
            extraStatements: (bucketArn) => [
                { Sid: "AlbLogDelivery", Effect: "Allow", Principal: albLogDeliveryPrincipal(context.region), Action: "s3:PutObject", Resource: pulumi.interpolate`${bucketArn}/alb/AWSLogs/${accountId}/*` },
                s3AccessLogDelivery(bucketArn, accountId),
            ],
        },
        opts,
    );
}

/** The HTTPS listener (404 to any host no service claimed) and the HTTP one that only redirects to it; returns the HTTPS one. */
function listeners(name: string, loadBalancerArn: pulumi.Output<string>, certificateArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): aws.lb.Listener {
    const https = new aws.lb.Listener(
        `${name}-https`,
        {
            loadBalancerArn,
            port: 443,
            protocol: "HTTPS",
            sslPolicy: TLS_POLICY,
            certificateArn,
            defaultActions: [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "not found" } }],
        },
        opts,
    );
    new aws.lb.Listener(
        `${name}-http`,
        {
            loadBalancerArn,
            port: 80,
            protocol: "HTTP",
            defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
        },
        opts,
    );
    return https;
}
