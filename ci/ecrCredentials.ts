import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

/**
 * Points the deploy job's Docker config at ECR's credential helper for the
 * stack's registry, so the docker provider logs in to ECR with no login in
 * the program (components/ecrImage.ts gives docker.Image the registry host
 * only) and so none in the state:
 *
 *   node_modules/.bin/ts-node --transpile-only ci/ecrCredentials.ts "$STACK"
 *
 * Writes `credHelpers: {"<account>.dkr.ecr.<region>.amazonaws.com": "ecr-login"}`
 * into `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), keeping
 * whatever else is there. Docker looks a registry up in `credHelpers` by its
 * exact host name (docker/cli configfile `GetCredentialsStore`), so the host
 * is written out: the account from AWS_ROLE_ARN (the job's role, in the
 * stack's account), the region from Pulumi.<stack>.yaml's `aws:region`. The
 * helper (`docker-credential-ecr-login`, Debian's amazon-ecr-credential-helper
 * in ci/Dockerfile) asks ECR for a token with the job's web identity each time
 * Docker needs one; `.deploy` sets AWS_ECR_DISABLE_CACHE so it keeps none on
 * disk. Nothing here is secret: the file names a program, not a token.
 */

/** The ECR registry host of `roleArn`'s account in `region`. */
export function ecrRegistryHost(roleArn: string, region: string): string {
    const account = /^arn:aws:iam::(\d{12}):role\/\S+$/.exec(roleArn)?.[1];
    if (account === undefined) {
        throw new Error(`AWS_ROLE_ARN ${JSON.stringify(roleArn)} is not an IAM role ARN of the aws partition (arn:aws:iam::<12 digits>:role/...)`);
    }
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
        throw new Error(`aws:region ${JSON.stringify(region)} is not an AWS region`);
    }
    return `${account}.dkr.ecr.${region}.amazonaws.com`;
}

/** `config` (a Docker config.json, parsed) with ECR's helper for `host`; every other key kept. */
export function withEcrHelper(config: Record<string, unknown>, host: string): Record<string, unknown> {
    const helpers = config.credHelpers ?? {};
    if (typeof helpers !== "object" || helpers === null || Array.isArray(helpers)) {
        throw new Error("the Docker config's credHelpers is not an object");
    }
    return { ...config, credHelpers: { ...helpers, [host]: "ecr-login" } };
}

/** Writes the helper for `stack`'s registry into the Docker config; returns the config file and the host. */
export function writeEcrCredentials(stack: string, env: NodeJS.ProcessEnv, projectDir: string): { file: string; host: string } {
    const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    const doc = YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> } | null;
    const host = ecrRegistryHost(env.AWS_ROLE_ARN ?? "", String(doc?.config?.["aws:region"] ?? ""));
    const dir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker");
    const file = path.join(dir, "config.json");
    const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, `${JSON.stringify(withEcrHelper(existing, host), null, 2)}\n`, { mode: 0o600 });
    return { file, host };
}

if (require.main === module) {
    const stack = process.argv[2];
    try {
        if (!stack) {
            throw new Error("usage: ecrCredentials.ts <stack>");
        }
        const { file, host } = writeEcrCredentials(stack, process.env, path.join(__dirname, ".."));
        console.error(`ecr credentials: ${file} sends ${host} to docker-credential-ecr-login`);
    } catch (e) {
        console.error(`ecr credentials: ${(e as Error).message}`);
        process.exit(1);
    }
}
