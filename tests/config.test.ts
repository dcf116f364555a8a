import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { addressesPerAz, azBlockPrefix, isNetworkAddress, isPrivate, parseCidr } from "../facts/cidr";
import { ConfigError, decodeConfigValues, isDomainName, parseConfig } from "../config";
import { readStackFile } from "../config/stackFile";
import { rdsDefaultMaxConnections, RESERVED_CONNECTIONS } from "../facts/rds";
import { appConnections } from "../components/app/facts";
import { fargateMemoryOptions, isFargateSize } from "../facts/fargate";
import { engineConfig, readStackConfig, runStack, StackConfig, STACKS } from "../sim/harness";
import { runThroughLanguageHost } from "./languageHost";

interface BadCase {
    readonly stack: string;
    readonly why: string;
    readonly patch: (c: StackConfig) => void;
    /** The message must contain this (the key path and what is wrong). */
    readonly error: RegExp;
}

const BAD: readonly BadCase[] = [
    { stack: "prod", why: "CPU not a Fargate size", patch: (c) => (c["platform:app"].cpu = 300), error: /^Pulumi\.prod\.yaml: app\.cpu: 300 is not a Fargate CPU size \(256, 512, 1024/m },
    { stack: "dev", why: "memory does not pair with CPU", patch: (c) => Object.assign(c["platform:app"], { cpu: 256, memory: 4096 }), error: /Pulumi\.dev\.yaml: app\.memory: 4096 MiB does not pair with cpu 256 .*512, 1024, 2048/ },
    { stack: "prod", why: "4096 CPU above 30 GB", patch: (c) => Object.assign(c["platform:app"], { cpu: 4096, memory: 32768 }), error: /app\.memory: 32768 MiB does not pair with cpu 4096 .*8192–30720 in steps of 1024/ },
    { stack: "prod", why: "8192 CPU off the 4 GB step", patch: (c) => Object.assign(c["platform:app"], { cpu: 8192, memory: 18432 }), error: /app\.memory: 18432 MiB does not pair with cpu 8192/ },
    { stack: "dev", why: "minCount above desiredCount", patch: (c) => Object.assign(c["platform:app"], { minCount: 3, desiredCount: 2, maxCount: 4 }), error: /app\.desiredCount: need minCount ≤ desiredCount ≤ maxCount, got 3 ≤ 2 ≤ 4/ },
    { stack: "dev", why: "negative task count", patch: (c) => (c["platform:app"].minCount = -1), error: /app\.minCount: .*>=0/ },
    { stack: "dev", why: "malformed CIDR", patch: (c) => (c["platform:network"].cidr = "10.0.0.300/16"), error: /network\.cidr: "10\.0\.0\.300\/16" is not an IPv4 CIDR/ },
    { stack: "prod", why: "VPC prefix too small to split", patch: (c) => (c["platform:network"].cidr = "10.0.0.0/26"), error: /network\.cidr: 10\.0\.0\.0\/26: prefix \/26 is outside \/16–\/24/ },
    { stack: "prod", why: "public CIDR", patch: (c) => (c["platform:network"].cidr = "8.8.0.0/16"), error: /network\.cidr: 8\.8\.0\.0\/16 is not inside an RFC 1918 private range/ },
    { stack: "dev", why: "host bits set", patch: (c) => (c["platform:network"].cidr = "10.20.1.0/16"), error: /network\.cidr: 10\.20\.1\.0\/16 has host bits set/ },
    { stack: "prod", why: "subnets do not fit", patch: (c) => (c["platform:network"].subnetMasks = { public: 19, private: 19, isolated: 19 }), error: /network\.subnetMasks: subnets need 24576 addresses per AZ but 10\.30\.0\.0\/16 gives each AZ \/18 = 16384 \(blocks are sized for 3 AZs\)/ },
    // Two AZs today still get slots sized for three, so a third AZ can be added later.
    { stack: "dev", why: "subnets that fit two AZs but not three", patch: (c) => (c["platform:network"].subnetMasks = { private: 18 }), error: /network\.subnetMasks: subnets need 16896 addresses per AZ but 10\.20\.0\.0\/16 gives each AZ \/18 = 16384/ },
    { stack: "dev", why: "public subnets too small for an ALB", patch: (c) => (c["platform:network"].subnetMasks = { public: 28 }), error: /network\.subnetMasks\.public: .*<=27/ },
    { stack: "prod", why: "four AZs", patch: (c) => (c["platform:network"].availabilityZones = 4), error: /network\.availabilityZones: 4 must be 2 or 3/ },
    { stack: "dev", why: "unknown NAT mode", patch: (c) => (c["platform:network"].natGateways = "PerSubnet"), error: /network\.natGateways: "PerSubnet" is not a NAT mode \(Single, OnePerAz\)/ },
    { stack: "prod", why: "boolean written as a string", patch: (c) => (c["platform:network"].flowLogs = "yes"), error: /network\.flowLogs: expected boolean, got "yes"/ },
    { stack: "prod", why: "protect as a string", patch: (c) => (c["platform:stateful"].protect = "true"), error: /stateful\.protect: expected boolean, got "true"/ },
    { stack: "dev", why: "retention CloudWatch refuses", patch: (c) => (c["platform:logs"].retentionDays = 10), error: /logs\.retentionDays: 10 is not a CloudWatch retention period/ },
    { stack: "prod", why: "bad domain name", patch: (c) => (c["platform:app"].hostName = "App_Host.example.com"), error: /app\.hostName: "App_Host\.example\.com" is not a valid domain name/ },
    { stack: "prod", why: "host outside the zone", patch: (c) => (c["platform:app"].hostName = "app.example.org"), error: /app\.hostName: app\.example\.org is not inside dns\.zoneName example\.com/ },
    { stack: "dev", why: "missing host name", patch: (c) => delete c["platform:app"].hostName, error: /app\.hostName: required \(no default\)/ },
    { stack: "dev", why: "misspelt key", patch: (c) => (c["platform:network"].natGateway = "Single"), error: /network\.natGateway: unknown key/ },
    { stack: "prod", why: "unknown section", patch: (c) => (c["platform:databse"] = { size: 1 }), error: /databse: unknown key/ },
    { stack: "dev", why: "bad region", patch: (c) => (c["aws:region"] = "mars-1"), error: /aws:region: "mars-1" is not an AWS region/ },
    // What a newcomer's stack file slipped past: a namespace nobody reads, a region of the right shape that does not exist, a section left out.
    { stack: "prod", why: "misspelt namespace", patch: (c) => ((c["platfrom:runner"] = c["platform:runner"]), delete c["platform:runner"]), error: /^Pulumi\.prod\.yaml: platfrom:runner: unknown namespace "platfrom", read by nobody \(did you mean platform:runner\?\)$/m },
    { stack: "dev", why: "a namespace nobody reads", patch: (c) => (c["gitlab:hostName"] = "gitlab.dev.example.com"), error: /gitlab:hostName: unknown namespace "gitlab", read by nobody \(keys are platform:, aws:, pulumi:\)/ },
    { stack: "prod", why: "misspelt section", patch: (c) => (c["platform:runnr"] = c["platform:runner"]), error: /^Pulumi\.prod\.yaml: platform:runnr: unknown key \(did you mean platform:runner\?\)$/m },
    { stack: "prod", why: "a region in the right shape that does not exist", patch: (c) => (c["aws:region"] = "eu-west-9"), error: /aws:region: "eu-west-9" is not an AWS region the provider knows/ },
    { stack: "dev", why: "a misspelt region", patch: (c) => (c["aws:region"] = "us-eats-1"), error: /aws:region: "us-eats-1" is not an AWS region the provider knows \(did you mean us-east-1\?\)/ },
    { stack: "dev", why: "no region", patch: (c) => delete c["aws:region"], error: /aws:region: required/ },
    { stack: "dev", why: "missing DNS section", patch: (c) => delete c["platform:dns"], error: /^Pulumi\.dev\.yaml: platform:dns: required \(a section with no default: every stack sets zoneName\)$/m },
    { stack: "dev", why: "ECR keep count zero", patch: (c) => (c["platform:images"].keepTaggedImages = 0), error: /images\.keepTaggedImages: / },
    { stack: "prod", why: "unsupported platform", patch: (c) => (c["platform:images"].platform = "linux/386"), error: /images\.platform: / },
    // The app service's keys.
    { stack: "prod", why: "minCount above maxCount", patch: (c) => Object.assign(c["platform:app"], { minCount: 5, desiredCount: 5, maxCount: 4 }), error: /app\.desiredCount: need minCount ≤ desiredCount ≤ maxCount, got 5 ≤ 5 ≤ 4/ },
    { stack: "prod", why: "unknown deployment strategy", patch: (c) => (c["platform:app"].deployment.strategy = "RECREATE"), error: /app\.deployment\.strategy: / },
    { stack: "prod", why: "bake time beyond 1440 minutes", patch: (c) => (c["platform:app"].deployment.bakeTimeMinutes = 2000), error: /app\.deployment\.bakeTimeMinutes: / },
    { stack: "prod", why: "scale-in not slower than scale-out", patch: (c) => (c["platform:app"].autoscaling.scaleInCooldown = 60), error: /app\.autoscaling\.scaleInCooldown: 60 must be longer than scaleOutCooldown 60/ },
    { stack: "dev", why: "spot without cluster spot", patch: (c) => (c["platform:cluster"].fargateSpot = false), error: /app\.spot: true needs cluster\.fargateSpot: true/ },
    { stack: "dev", why: "spot on arm64", patch: (c) => (c["platform:images"].platform = "linux/arm64"), error: /app\.spot: Fargate Spot runs x86_64 only/ },
    { stack: "prod", why: "health check path not a path", patch: (c) => (c["platform:app"].healthCheckPath = "readyz"), error: /app\.healthCheckPath: "readyz" is not a URL path/ },
    { stack: "prod", why: "backups disabled", patch: (c) => (c["platform:database"].backupRetentionDays = 0), error: /database\.backupRetentionDays: / },
    { stack: "prod", why: "storage ceiling below storage", patch: (c) => (c["platform:database"].maxAllocatedStorageGb = 40), error: /database\.maxAllocatedStorageGb: 40 is below allocatedStorageGb 50/ },
    { stack: "prod", why: "unsupported PostgreSQL major", patch: (c) => (c["platform:database"].engineVersion = "13"), error: /database\.engineVersion: / },
    { stack: "dev", why: "malformed instance class", patch: (c) => (c["platform:database"].instanceClass = "t4g.micro"), error: /database\.instanceClass: "t4g\.micro" is not an RDS instance class/ },
    { stack: "prod", why: "desync monitor mode", patch: (c) => (c["platform:loadBalancer"].desyncMitigation = "monitor"), error: /loadBalancer\.desyncMitigation: / },
    { stack: "prod", why: "malformed certificate ARN", patch: (c) => (c["platform:dns"].certificateArn = "arn:aws:acm:us-east-1:123:certificate/x"), error: /dns\.certificateArn: .* is not an ACM certificate ARN/ },
    // Issue 7's keys.
    { stack: "prod", why: "canary percent off ECS's 0.1 step", patch: (c) => (c["platform:app"].deployment.canaryPercent = 10.05), error: /app\.deployment\.canaryPercent: 10\.05 is not a multiple of 0\.1/ },
    { stack: "prod", why: "unknown live target group", patch: (c) => (c["platform:app"].deployment.liveTargetGroup = "red"), error: /app\.deployment\.liveTargetGroup: / },
    { stack: "prod", why: "RDS monitoring interval RDS refuses", patch: (c) => (c["platform:database"].monitoringIntervalSeconds = 7), error: /database\.monitoringIntervalSeconds: 7 is not an RDS monitoring interval/ },
    { stack: "prod", why: "WAF rate limit below WAF's minimum", patch: (c) => (c["platform:loadBalancer"].waf = { rateLimitPer5Minutes: 5 }), error: /loadBalancer\.waf\.rateLimitPer5Minutes: / },
    { stack: "dev", why: "ECS Exec switch as a string", patch: (c) => (c["platform:app"].execCommand = "on"), error: /app\.execCommand: expected boolean, got "on"/ },
    { stack: "prod", why: "protected stack whose alarms reach nobody", patch: (c) => delete c["platform:alarms"].email, error: /alarms\.email: required when stateful\.protect is true/ },
    { stack: "prod", why: "bad alarm e-mail", patch: (c) => (c["platform:alarms"].email = "ops-at-example.com"), error: /alarms\.email: "ops-at-example\.com" is not an e-mail address/ },
    // GitLab
    { stack: "dev", why: "GitLab below 4 vCPU", patch: (c) => Object.assign(c["platform:gitlab"], { cpu: 2048, memory: 8192 }), error: /gitlab\.cpu: 2048 is below GitLab's minimum of 4096 \(4 vCPU\)/ },
    { stack: "dev", why: "GitLab below 8 GB", patch: (c) => Object.assign(c["platform:gitlab"], { cpu: 4096, memory: 6144 }), error: /gitlab\.memory: 6144 is below GitLab's minimum of 8192 MiB/ },
    { stack: "dev", why: "GitLab memory off the Fargate table", patch: (c) => Object.assign(c["platform:gitlab"], { cpu: 8192, memory: 18432 }), error: /gitlab\.memory: 18432 MiB does not pair with cpu 8192/ },
    { stack: "dev", why: "GitLab database class too small", patch: (c) => (c["platform:gitlab"].database.instanceClass = "db.t4g.small"), error: /gitlab\.database\.instanceClass: "db\.t4g\.small" cannot hold GitLab's 400 connections/ },
    // Issue 20: GitLab's database connection budget.
    { stack: "dev", why: "GitLab database class of unknown memory", patch: (c) => (c["platform:gitlab"].database.instanceClass = "db.x2g.large"), error: /gitlab\.database\.instanceClass: "db\.x2g\.large" cannot hold GitLab's 400 connections/ },
    { stack: "prod", why: "GitLab web ceiling over the connection budget", patch: (c) => (c["platform:gitlab"].web.maxCount = 4), error: /gitlab\.web\.maxCount: 4 web and 3 Sidekiq tasks can hold 1492 database connections during a deployment \(746 at the ceiling .* plus 131 for the registry's pools.*\), over the 1532 max_connections of gitlab\.database\.instanceClass db\.m7g\.xlarge/ },
    { stack: "prod", why: "GitLab Sidekiq ceiling over the connection budget", patch: (c) => (c["platform:gitlab"].sidekiq.maxCount = 6), error: /gitlab\.web\.maxCount: 3 web and 6 Sidekiq tasks can hold 1464 database connections during a deployment/ },
    { stack: "prod", why: "GitLab class that holds not even the tiers' minimum through a deployment", patch: (c) => (c["platform:gitlab"].database.instanceClass = "db.m7g.large"), error: /gitlab\.web\.maxCount: .* 1188 database connections during a deployment .* over the 766 max_connections of gitlab\.database\.instanceClass db\.m7g\.large/ },
    { stack: "dev", why: "GitLab single task with more connections than its class", patch: (c) => Object.assign(c["platform:gitlab"], { cpu: 16384, memory: 32768 }), error: /gitlab\.memory: the single task can hold 674 database connections during a deployment .* over the 400 max_connections of gitlab\.database\.instanceClass db\.t4g\.medium: a smaller task, or a larger class/ },
    { stack: "prod", why: "GitLab on PostgreSQL 16", patch: (c) => (c["platform:gitlab"].database.engineVersion = "16"), error: /gitlab\.database\.engineVersion: "16" is not a supported PostgreSQL major version \(17\)/ },
    { stack: "prod", why: "SSH allow-list entry that is not a CIDR", patch: (c) => (c["platform:gitlab"].ssh = { allowedCidrs: ["203.0.113.0/24", "office"] }), error: /gitlab\.ssh\.allowedCidrs\.1: "office" is not an IPv4 CIDR network address/ },
    { stack: "dev", why: "SSH CIDR with host bits", patch: (c) => (c["platform:gitlab"].ssh = { allowedCidrs: ["203.0.113.7/24"] }), error: /gitlab\.ssh\.allowedCidrs\.0: "203\.0\.113\.7\/24" is not an IPv4 CIDR network address/ },
    { stack: "dev", why: "empty SSH allow-list", patch: (c) => (c["platform:gitlab"].ssh = { allowedCidrs: [] }), error: /gitlab\.ssh\.allowedCidrs: / },
    { stack: "prod", why: "GitLab host outside the zone", patch: (c) => (c["platform:gitlab"].hostName = "gitlab.example.org"), error: /gitlab\.hostName: gitlab\.example\.org is not inside dns\.zoneName example\.com/ },
    { stack: "prod", why: "registry host outside the zone", patch: (c) => (c["platform:gitlab"].registryHostName = "registry.example.net"), error: /gitlab\.registryHostName: registry\.example\.net is not inside dns\.zoneName example\.com/ },
    { stack: "dev", why: "GitLab on the app's host name", patch: (c) => (c["platform:gitlab"].hostName = "app.dev.example.com"), error: /gitlab\.hostName: app\.dev\.example\.com is already used by app\.hostName/ },
    { stack: "dev", why: "unknown topology", patch: (c) => (c["platform:gitlab"].topology = "cluster"), error: /gitlab\.topology: "cluster" is not a GitLab topology \(single, split\)/ },
    { stack: "prod", why: "prod backups kept under 30 days", patch: (c) => (c["platform:gitlab"].backup.retentionDays = 14), error: /gitlab\.backup\.retentionDays: 14 is below 30, the least a protected stack keeps/ },
    { stack: "dev", why: "backup time not a time", patch: (c) => (c["platform:gitlab"].backup.time = "25:00"), error: /gitlab\.backup\.time: "25:00" is not a time of day \(HH:MM\)/ },
    { stack: "dev", why: "unknown time zone", patch: (c) => (c["platform:gitlab"].backup.timezone = "Mars/Olympus"), error: /gitlab\.backup\.timezone: "Mars\/Olympus" is not an IANA time zone/ },
    { stack: "prod", why: "GitLab on Spot without Spot capacity", patch: (c) => (c["platform:gitlab"].spot = true), error: /gitlab\.spot: true needs cluster\.fargateSpot: true/ },
    { stack: "dev", why: "OIDC issuer over plain HTTP", patch: (c) => (c["platform:gitlab"].oidc = { issuer: "http://login.example.com", clientId: "gitlab", clientSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc-AbCdEf" }), error: /gitlab\.oidc\.issuer: "http:\/\/login\.example\.com" is not an https URL/ },
    { stack: "dev", why: "OIDC secret not a Secrets Manager ARN", patch: (c) => (c["platform:gitlab"].oidc = { issuer: "https://login.example.com", clientId: "gitlab", clientSecretArn: "hunter2" }), error: /gitlab\.oidc\.clientSecretArn: "hunter2" is not a Secrets Manager secret ARN/ },
    { stack: "prod", why: "missing GitLab section", patch: (c) => delete c["platform:gitlab"], error: /^Pulumi\.prod\.yaml: platform:gitlab: required \(a section with no default: every stack sets hostName\)$/m },
    // Issue 20: e-mail.
    { stack: "prod", why: "SES sending from outside the verified zone", patch: (c) => (c["platform:gitlab"].email = { provider: "ses", from: "gitlab@example.org" }), error: /^Pulumi\.prod\.yaml: gitlab\.email\.from: gitlab@example\.org is not inside dns\.zoneName example\.com, the domain SES verifies$/m },
    { stack: "dev", why: "unknown e-mail provider", patch: (c) => (c["platform:gitlab"].email = { provider: "sendmail" }), error: /^Pulumi\.dev\.yaml: gitlab\.email\.provider: "sendmail" is not an e-mail provider \(ses, smtp, none\)$/m },
    { stack: "dev", why: "SMTP relay password not a Secrets Manager ARN", patch: (c) => (c["platform:gitlab"].email = { provider: "smtp", address: "smtp.example.net", userName: "gitlab", passwordSecretArn: "hunter2" }), error: /^Pulumi\.dev\.yaml: gitlab\.email\.passwordSecretArn: "hunter2" is not a Secrets Manager secret ARN$/m },
    { stack: "dev", why: "SMTP relay TLS mode unknown", patch: (c) => (c["platform:gitlab"].email = { provider: "smtp", address: "smtp.example.net", userName: "gitlab", passwordSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:smtp-AbCdEf", tls: "ssl" }), error: /^Pulumi\.dev\.yaml: gitlab\.email\.tls: "ssl" is not an SMTP TLS mode \(starttls, tls\)$/m },
    { stack: "dev", why: "From address not an address", patch: (c) => (c["platform:gitlab"].email = { provider: "ses", from: "gitlab" }), error: /^Pulumi\.dev\.yaml: gitlab\.email\.from: "gitlab" is not an e-mail address$/m },
    // Issue 9: the split topology.
    { stack: "prod", why: "split with two Gitaly servers", patch: (c) => (c["platform:gitlab"].gitaly.count = 2), error: /gitlab\.gitaly\.count: 2 Gitaly servers: a repository storage has exactly one Gitaly/ },
    { stack: "prod", why: "web minimum below 2 in prod", patch: (c) => (c["platform:gitlab"].web.minCount = 1), error: /gitlab\.web\.minCount: 1 is below 2, the least a protected stack runs/ },
    { stack: "prod", why: "unknown Gitaly storage kind", patch: (c) => (c["platform:gitlab"].gitaly.storage = "nfs"), error: /gitlab\.gitaly\.storage: "nfs" is not a Gitaly storage kind \(ebs, efs\)/ },
    { stack: "prod", why: "Gitaly volume below the floor", patch: (c) => (c["platform:gitlab"].gitaly.volume.sizeGb = 20), error: /gitlab\.gitaly\.volume\.sizeGb: 20 GiB is below the Gitaly volume floor of 50 GiB/ },
    { stack: "prod", why: "gp3 throughput beyond a quarter of the IOPS", patch: (c) => Object.assign(c["platform:gitlab"].gitaly.volume, { iops: 3000, throughputMibps: 1000 }), error: /gitlab\.gitaly\.volume\.throughputMibps: 1000 exceeds gp3's 0\.25 MiB\/s per provisioned IOPS/ },
    { stack: "prod", why: "Gitaly task larger than its instance", patch: (c) => (c["platform:gitlab"].gitaly.memory = 8192), error: /gitlab\.gitaly\.memory: 8192 MiB does not fit m7i\.large \(at most 7168 MiB\)/ },
    { stack: "prod", why: "Graviton Gitaly for an x86 image", patch: (c) => (c["platform:gitlab"].gitaly.instanceType = "m7g.large"), error: /gitlab\.gitaly\.instanceType: m7g\.large cannot run the linux\/amd64 image/ },
    { stack: "prod", why: "Gitaly instance type off the list", patch: (c) => (c["platform:gitlab"].gitaly.instanceType = "t3.micro"), error: /gitlab\.gitaly\.instanceType: "t3\.micro" is not a Gitaly instance type/ },
    { stack: "prod", why: "Gitaly in an AZ the network does not have", patch: (c) => (c["platform:gitlab"].gitaly.availabilityZone = 3), error: /gitlab\.gitaly\.availabilityZone: 3 is not one of the network's 3 AZs/ },
    { stack: "prod", why: "restore from something that is not a snapshot", patch: (c) => (c["platform:gitlab"].gitaly.volume.snapshotId = "vol-0123456789abcdef0"), error: /gitlab\.gitaly\.volume\.snapshotId: "vol-0123456789abcdef0" is not an EBS snapshot id/ },
    { stack: "prod", why: "single-topology size keys in split", patch: (c) => (c["platform:gitlab"].cpu = 8192), error: /gitlab\.cpu: sizes the single topology's one task/ },
    { stack: "prod", why: "a restore's hold in split", patch: (c) => (c["platform:gitlab"].holdForRestore = true), error: /^Pulumi\.prod\.yaml: gitlab\.holdForRestore: true holds the single topology's one task; split holds its tiers by scaling them \(docs\/operations\/restore\.md\)$/m },
    { stack: "prod", why: "web autoscaling floor above its ceiling", patch: (c) => Object.assign(c["platform:gitlab"].web, { minCount: 4, maxCount: 3 }), error: /gitlab\.web\.maxCount: 3 is below minCount 4/ },
    { stack: "prod", why: "Sidekiq memory off the Fargate table", patch: (c) => Object.assign(c["platform:gitlab"].sidekiq, { cpu: 2048, memory: 3072 }), error: /gitlab\.sidekiq\.memory: 3072 MiB does not pair with cpu 2048/ },
    { stack: "prod", why: "Redis node below GitLab's floor", patch: (c) => (c["platform:gitlab"].redis.nodeType = "cache.t4g.small"), error: /gitlab\.redis\.nodeType: "cache\.t4g\.small" is below GitLab's floor for Redis/ },
    { stack: "prod", why: "Valkey older than GitLab supports", patch: (c) => (c["platform:gitlab"].redis.engineVersion = "7.0"), error: /gitlab\.redis\.engineVersion: "7\.0" is not a supported Valkey version/ },
    { stack: "prod", why: "single-node Redis in a protected stack", patch: (c) => (c["platform:gitlab"].redis.multiAz = false), error: /gitlab\.redis\.multiAz: false in a protected stack/ },
    // Issue 10: the runner.
    { stack: "prod", why: "runner instance type not a type", patch: (c) => (c["platform:runner"].instanceType = "large"), error: /runner\.instanceType: "large" is not an EC2 instance type/ },
    { stack: "prod", why: "runner with no workers", patch: (c) => (c["platform:runner"].maxInstances = 0), error: /runner\.maxInstances: / },
    { stack: "dev", why: "runner idle time beyond an hour", patch: (c) => (c["platform:runner"] = { enabled: true, idleMinutes: 90 }), error: /runner\.idleMinutes: / },
    { stack: "prod", why: "two jobs on one runner worker", patch: (c) => (c["platform:runner"].capacityPerInstance = 2), error: /runner\.capacityPerInstance: 2 is not 1: a worker runs one job at a time/ },
    { stack: "prod", why: "runner workers reused", patch: (c) => (c["platform:runner"].maxUseCount = 10), error: /runner\.maxUseCount: 10 is not 1: a worker runs one job and is replaced/ },
    // Issue 21: the runner's warm pool.
    { stack: "prod", why: "more idle workers than the fleet may have", patch: (c) => (c["platform:runner"].warmPool = { idle: 11 }), error: /runner\.warmPool\.idle: 11 idle workers exceed maxInstances 10/ },
    { stack: "prod", why: "more warm deploy workers than the deploy fleet has", patch: (c) => (c["platform:runner"].warmPool = { deployIdle: 3 }), error: /runner\.warmPool\.deployIdle: / },
    { stack: "prod", why: "warm pool start not a time of day", patch: (c) => (c["platform:runner"].warmPool = { start: "8:00" }), error: /runner\.warmPool\.start: "8:00" is not a time of day \(HH:MM\)/ },
    { stack: "prod", why: "warm pool ending before it starts", patch: (c) => (c["platform:runner"].warmPool = { start: "19:00", end: "08:00" }), error: /runner\.warmPool\.end: 08:00 is not after start 19:00/ },
    { stack: "prod", why: "warm pool time zone unknown to Intl", patch: (c) => (c["platform:runner"].warmPool = { timezone: "Europe/Berlln" }), error: /runner\.warmPool\.timezone: "Europe\/Berlln" is not an IANA time zone/ },
    { stack: "prod", why: "warm pool days not days of the week", patch: (c) => (c["platform:runner"].warmPool = { days: "fri-mon" }), error: /runner\.warmPool\.days: "fri-mon" is not days of the week/ },
];

describe("config", () => {
    describe("rejects bad stack files before registering anything", () => {
        it("has a table of at least 12 cases", () => {
            expect(BAD.length).to.be.at.least(12);
        });
        for (const bad of BAD) {
            it(`${bad.stack}: ${bad.why}`, async () => {
                const run = await runStack(bad.stack, { patch: bad.patch });
                expect(run.error, "the program must fail").to.be.instanceOf(Error);
                expect(run.error!.name).to.equal("ConfigError");
                expect(run.error!.message).to.match(bad.error);
                expect(run.resources.map((r) => r.type), "no resource may be registered").to.deep.equal([]);
            });
        }
    });

    describe("parseConfig", () => {
        const raw = (stack: string): Record<string, unknown> => readStackConfig(stack);

        it("fills every default for a minimal stack", () => {
            const cfg = parseConfig(
                { "aws:region": "eu-west-1", "platform:dns": { zoneName: "example.net" }, "platform:app": { hostName: "example.net" }, "platform:gitlab": { hostName: "gitlab.example.net" } },
                "min",
            );
            expect(cfg.network).to.deep.equal({
                cidr: "10.0.0.0/16",
                availabilityZones: 2,
                natGateways: "Single",
                subnetMasks: { public: 24, private: 20, isolated: 24 },
                interfaceEndpoints: false,
                flowLogs: false,
            });
            expect(cfg.app).to.include({ cpu: 512, memory: 1024, desiredCount: 2, minCount: 2, maxCount: 4 });
            expect(cfg.stateful.protect).to.equal(false);
            expect(cfg.logs.retentionDays).to.equal(30);
            expect(cfg.region).to.equal("eu-west-1");
        });

        it("keeps what the stack files say", () => {
            const prod = parseConfig(raw("prod"), "prod");
            expect(prod.network).to.include({ availabilityZones: 3, natGateways: "OnePerAz", interfaceEndpoints: true, flowLogs: true });
            expect(prod.stateful.protect).to.equal(true);
            const dev = parseConfig(raw("dev"), "dev");
            expect(dev.network).to.include({ availabilityZones: 2, natGateways: "Single", interfaceEndpoints: false, flowLogs: false });
        });

        it("hands on only the keys of the chosen topology, and nothing of a disabled section", () => {
            const dev = parseConfig(raw("dev"), "dev");
            expect(dev.gitlab).to.include({ topology: "single", cpu: 4096, memory: 8192 });
            expect(dev.gitlab).to.not.have.any.keys("web", "sidekiq", "gitaly", "redis");
            expect(dev.runner).to.deep.equal({ enabled: false });
            expect(dev.ci).to.include({ enabled: true, gitlabUrl: "https://gitlab.example.com", projectPath: "platform/infrastructure" });
            const prod = parseConfig(raw("prod"), "prod");
            expect(prod.gitlab).to.include({ topology: "split" }).and.to.not.have.any.keys("cpu", "memory");
            expect(prod.runner).to.include({ enabled: true, maxInstances: 10 });
            const off = raw("dev") as StackConfig;
            off["platform:ci"].enabled = false;
            expect(parseConfig(off, "dev").ci).to.deep.equal({ enabled: false });
        });

        it("needs no secure: value in any stack", () => {
            for (const stack of STACKS) {
                expect(JSON.stringify(raw(stack)), stack).to.not.include("secure");
            }
        });

        it("checks the app's database connections against the instance's max_connections", () => {
            expect(rdsDefaultMaxConnections("db.t4g.micro")).to.equal(95);
            expect(rdsDefaultMaxConnections("db.t4g.medium")).to.equal(383);
            expect(rdsDefaultMaxConnections("db.r7g.large")).to.equal(1532);
            expect(rdsDefaultMaxConnections("db.x2g.large")).to.equal(undefined);
            // Both stacks as configured fit, with room.
            for (const stack of STACKS) {
                const cfg = parseConfig(raw(stack), stack);
                expect(appConnections(cfg.app.maxCount, cfg.app.cpu) + RESERVED_CONNECTIONS, stack).to.be.below(rdsDefaultMaxConnections(cfg.database.instanceClass)!);
            }
            // Dev's micro instance cannot take 12 tasks of 2 vCPUs: 2 × 12 × 5 workers × 2 = 240 connections.
            const c = raw("dev") as StackConfig;
            Object.assign(c["platform:app"], { maxCount: 12, desiredCount: 1, cpu: 2048, memory: 4096 });
            expect(() => parseConfig(c, "dev")).to.throw(ConfigError, /Pulumi\.dev\.yaml: app\.maxCount: 12 tasks can hold 240 database connections .* over the 95 of database\.instanceClass db\.t4g\.micro/);
        });

        it("reports every problem at once, each prefixed with the stack file", () => {
            const c = raw("prod") as StackConfig;
            c["platform:app"].cpu = 3;
            c["platform:logs"].retentionDays = 2;
            try {
                parseConfig(c, "prod");
                expect.fail("should throw");
            } catch (e) {
                expect(e).to.be.instanceOf(ConfigError);
                const lines = (e as ConfigError).message.split("\n");
                expect(lines).to.have.length(2);
                for (const l of lines) {
                    expect(l).to.match(/^Pulumi\.prod\.yaml: (app\.cpu|logs\.retentionDays): /);
                }
            }
        });

        it("decodes structured values the engine hands over as JSON text", () => {
            expect(decodeConfigValues({ "aws:region": "us-east-1", "platform:x": '{"a":true}' })).to.deep.equal({ "aws:region": "us-east-1", "platform:x": { a: true } });
        });
    });

    describe("the stack file itself, as the offline runs read it (the plan, the tests)", () => {
        it("a YAML syntax error names the file, the line and the column", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfile-"));
            fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), "config:\n  aws:region: us-east-1\n  platform:app: [1\n  platform:dns: {}\n");
            expect(() => readStackFile(dir, "broken")).to.throw(ConfigError, /^Pulumi\.broken\.yaml: line 4, column 3: not valid YAML: Flow sequence .*$/);
            fs.writeFileSync(path.join(dir, "Pulumi.twice.yaml"), "config:\n  aws:region: us-east-1\n  aws:region: eu-west-1\n");
            expect(() => readStackFile(dir, "twice")).to.throw(ConfigError, /^Pulumi\.twice\.yaml: line 3, column 3: not valid YAML: Map keys must be unique$/);
        });

        it("a stack with no file: the stacks there are", async () => {
            let error: unknown;
            await runStack("staging").catch((e: unknown) => (error = e));
            expect(error).to.be.instanceOf(ConfigError);
            expect((error as Error).message).to.equal("Pulumi.staging.yaml: no such stack file; the stacks here: dev, prod (Pulumi.<stack>.yaml)");
        });

        it("prod's file is the final state a new stack takes: no step of a transition left in it", () => {
            // masterPasswordRotationDays: 0 is step 1 of turning rotation on for an existing stack (docs/decisions/app-service.md).
            expect(readStackConfig("prod")["platform:database"]).to.not.have.property("masterPasswordRotationDays");
            expect(parseConfig(readStackConfig("prod"), "prod").database.masterPasswordRotationDays).to.equal(7);
        });
    });

    describe("as the Pulumi CLI prints it (the real Node.js language host)", () => {
        const bad = (mutate: (c: StackConfig) => void): Record<string, string> => {
            const config = readStackConfig("prod");
            mutate(config);
            return engineConfig(config);
        };

        it("one plain line naming the stack file and the key, no stack trace or object dump", async () => {
            const run = await runThroughLanguageHost("prod", bad((c) => (c["platform:app"].cpu = 300)));
            expect(run.output.trim()).to.equal("error: [runtime] Pulumi.prod.yaml: app.cpu: 300 is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)");
            // The host's code for "failed, and the user has been told why".
            expect(run.exitCode).to.equal(32);
        });

        it("a misspelt namespace: the key and the one it likely meant, before anything runs", async () => {
            const run = await runThroughLanguageHost("prod", bad((c) => ((c["platfrom:runner"] = c["platform:runner"]), delete c["platform:runner"])));
            expect(run.output.trim()).to.equal('error: [runtime] Pulumi.prod.yaml: platfrom:runner: unknown namespace "platfrom", read by nobody (did you mean platform:runner?)');
            expect(run.exitCode).to.equal(32);
        });

        it("every problem at once, each on its own line with the file and the key", async () => {
            const run = await runThroughLanguageHost(
                "prod",
                bad((c) => {
                    c["platform:app"].cpu = 300;
                    c["platform:network"].flowLogs = "yes";
                }),
            );
            const lines = run.output.trim().replace(/^error: \[runtime\] /, "").split("\n");
            expect(lines).to.have.members([
                'Pulumi.prod.yaml: network.flowLogs: expected boolean, got "yes"',
                "Pulumi.prod.yaml: app.cpu: 300 is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)",
            ]);
            expect(run.output).to.not.match(/\bat .*\.ts:\d+|problems:|ConfigError/);
        });
    });

    describe("Fargate sizes", () => {
        const table: [number, number, boolean][] = [
            [256, 512, true], [256, 2048, true], [256, 3072, false],
            [512, 1024, true], [512, 4096, true], [512, 512, false],
            [1024, 2048, true], [1024, 8192, true], [1024, 9216, false],
            [2048, 16384, true], [2048, 3072, false],
            [4096, 30720, true], [4096, 31744, false],
            [8192, 16384, true], [8192, 61440, true], [8192, 20480, true], [8192, 17408, false],
            [16384, 32768, true], [16384, 122880, true], [16384, 40960, true], [16384, 36864, false],
            [300, 512, false],
        ];
        for (const [cpu, mem, ok] of table) {
            it(`${cpu}/${mem} is ${ok ? "" : "not "}a Fargate size`, () => {
                expect(isFargateSize(cpu, mem)).to.equal(ok);
            });
        }
        it("counts the published options", () => {
            expect([256, 512, 1024, 2048, 4096, 8192, 16384].map((c) => fargateMemoryOptions(c).length)).to.deep.equal([3, 4, 7, 13, 23, 12, 12]);
        });
    });

    describe("CIDR and domain helpers", () => {
        it("parses and classifies CIDRs", () => {
            expect(parseCidr("10.0.0.0/16")).to.deep.equal({ address: 167772160, prefix: 16 });
            for (const bad of ["10.0.0/16", "256.0.0.0/8", "10.0.0.0/33", "10.0.0.0", " 10.0.0.0/16"]) {
                expect(parseCidr(bad), bad).to.equal(undefined);
            }
            expect(isNetworkAddress(parseCidr("192.168.4.0/22")!)).to.equal(true);
            expect(isNetworkAddress(parseCidr("192.168.5.0/22")!)).to.equal(false);
            expect(isPrivate(parseCidr("172.31.0.0/16")!)).to.equal(true);
            expect(isPrivate(parseCidr("172.32.0.0/16")!)).to.equal(false);
            expect(isPrivate(parseCidr("10.0.0.0/7")!)).to.equal(false);
        });

        it("sizes awsx's per-AZ blocks", () => {
            expect([azBlockPrefix(16, 2), azBlockPrefix(16, 3), azBlockPrefix(16)]).to.deep.equal([17, 18, 18]);
            expect(addressesPerAz([24, 20, 24])).to.equal(256 + 4096 + 256);
        });

        it("accepts host names and rejects the rest", () => {
            for (const ok of ["example.com", "gitlab.dev.example.co.uk", "a-b.example.io"]) {
                expect(isDomainName(ok), ok).to.equal(true);
            }
            for (const bad of ["localhost", "-a.example.com", "a..example.com", "Example.com", "example.com.", "1.2.3.4", `${"a".repeat(64)}.com`]) {
                expect(isDomainName(bad), bad).to.equal(false);
            }
        });
    });
});
