import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { requiredEnv, runHook } from "./run";

/**
 * Builds one image and pushes it to its ECR repository, but only when the tag
 * is not in ECR yet. Pulumi runs this from a command.local.Command triggered by
 * the tag alone:
 *
 *   node_modules/.bin/ts-node --transpile-only tools/pushImage.ts   (the stable entry point of this file)
 *
 * Tags are immutable and already encode the image's inputs, so an existing tag
 * is the image we would build: rebuilding would waste minutes and pushing
 * would fail. The last stdout line is `<repositoryUrl>@sha256:<hex>`, so the
 * task definition pins the exact bytes; everything else goes to stderr.
 */

export type Platform = "linux/amd64" | "linux/arm64";

export interface PushImageInput {
    region: string;
    repositoryName: string;
    repositoryUrl: string;
    tag: string;
    context: string;
    dockerfile: string;
    platform: Platform;
    buildArgs: Record<string, string>;
    cacheFromTag?: string;
}

export interface EcrApi {
    /** The image digest for the tag, or undefined when ECR has no such tag. */
    findDigest(repositoryName: string, tag: string): Promise<string | undefined>;
    loginPassword(): Promise<{ username: string; password: string; endpoint: string }>;
}

/** Runs `docker <args>`; rejects when docker exits non-zero. */
export type DockerCli = (args: string[], stdin?: string) => Promise<void>;

export interface PushImageDeps {
    ecr: EcrApi;
    docker: DockerCli;
    log: (s: string) => void;
}

// ECR's own tag rule; checking it here fails fast instead of after a build.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PLATFORMS: readonly Platform[] = ["linux/amd64", "linux/arm64"];
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function readInput(env: NodeJS.ProcessEnv): PushImageInput {
    const required = requiredEnv(env);
    // Pulumi passes unset optional inputs as "", so empty means absent.
    const optional = (name: string): string | undefined => (env[name] ? env[name] : undefined);
    const tagFrom = (name: string, value: string): string => {
        if (!TAG.test(value)) {
            throw new Error(`${name} ${JSON.stringify(value)} is not a valid ECR tag (${TAG.source})`);
        }
        return value;
    };

    const region = required("AWS_REGION");
    const repositoryName = required("REPOSITORY_NAME");
    const repositoryUrl = required("REPOSITORY_URL");
    // The URL is what we push to and the name is what we query; if they
    // disagree the existence check would look at a different repository.
    const slash = repositoryUrl.indexOf("/");
    if (slash <= 0 || repositoryUrl.slice(slash + 1) !== repositoryName) {
        throw new Error(`REPOSITORY_URL ${JSON.stringify(repositoryUrl)} must be <registry host>/${repositoryName} (REPOSITORY_NAME)`);
    }
    const tag = tagFrom("IMAGE_TAG", required("IMAGE_TAG"));
    const context = required("CONTEXT");
    if (!isDirectory(context)) {
        throw new Error(`CONTEXT ${JSON.stringify(context)} is not a directory`);
    }
    const dockerfile = required("DOCKERFILE");
    if (!isFile(dockerfile)) {
        throw new Error(`DOCKERFILE ${JSON.stringify(dockerfile)} is not a file`);
    }
    const platform = required("PLATFORM");
    if (!(PLATFORMS as readonly string[]).includes(platform)) {
        throw new Error(`PLATFORM ${JSON.stringify(platform)} must be one of ${PLATFORMS.join(", ")}`);
    }
    const buildArgs = parseBuildArgs(optional("BUILD_ARGS"));
    const cacheFrom = optional("CACHE_FROM_TAG");
    const cacheFromTag = cacheFrom === undefined ? undefined : tagFrom("CACHE_FROM_TAG", cacheFrom);

    return { region, repositoryName, repositoryUrl, tag, context, dockerfile, platform: platform as Platform, buildArgs, cacheFromTag };
}

function parseBuildArgs(raw: string | undefined): Record<string, string> {
    if (raw === undefined) {
        return {};
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch (e) {
        throw new Error(`BUILD_ARGS is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new Error("BUILD_ARGS must be a JSON object of string values");
    }
    for (const [key, value] of Object.entries(parsed)) {
        // `--build-arg K=V` splits at the first "=", so a key cannot contain one.
        if (key === "" || key.includes("=")) {
            throw new Error(`BUILD_ARGS key ${JSON.stringify(key)} is not a valid build argument name`);
        }
        if (typeof value !== "string") {
            throw new Error(`BUILD_ARGS.${key} must be a string`);
        }
    }
    return parsed as Record<string, string>;
}

const isDirectory = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
const isFile = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

export async function pushImage(input: PushImageInput, deps: PushImageDeps): Promise<string> {
    const { ecr, docker, log } = deps;
    const reference = (digest: string): string => {
        if (!DIGEST.test(digest)) {
            throw new Error(`ECR returned an unexpected digest ${JSON.stringify(digest)} for ${input.repositoryName}:${input.tag}`);
        }
        return `${input.repositoryUrl}@${digest}`;
    };

    const existing = await ecr.findDigest(input.repositoryName, input.tag);
    if (existing !== undefined) {
        log(`${input.repositoryUrl}:${input.tag}: tag exists in ECR: reusing, not building`);
        return reference(existing);
    }

    log(`${input.repositoryUrl}:${input.tag}: not in ECR, building for ${input.platform}`);
    const { username, password } = await ecr.loginPassword();
    const registry = input.repositoryUrl.slice(0, input.repositoryUrl.indexOf("/"));
    // A throwaway config keeps the registry password off the user's docker
    // config and off disk once we are done, whatever happens.
    const config = await fs.promises.mkdtemp(path.join(os.tmpdir(), "pushImage-"));
    try {
        await docker(["--config", config, "login", "--username", username, "--password-stdin", registry], password);
        await docker(["--config", config, ...buildxArgs(input)]);
    } finally {
        await fs.promises.rm(config, { recursive: true, force: true });
    }

    const pushed = await ecr.findDigest(input.repositoryName, input.tag);
    if (pushed === undefined) {
        throw new Error(`pushed ${input.repositoryUrl}:${input.tag} but ECR does not list it`);
    }
    log(`${input.repositoryUrl}:${input.tag}: pushed ${pushed}`);
    return reference(pushed);
}

function buildxArgs(input: PushImageInput): string[] {
    // Sorted so the same inputs always produce the same command line.
    const buildArgs = Object.keys(input.buildArgs)
        .sort()
        .flatMap((key) => ["--build-arg", `${key}=${input.buildArgs[key]}`]);
    // A registry cache that does not exist yet is only a warning for buildx.
    const cacheFrom = input.cacheFromTag === undefined ? [] : ["--cache-from", `type=registry,ref=${input.repositoryUrl}:${input.cacheFromTag}`];
    return [
        "buildx", "build",
        "--platform", input.platform,
        "--file", input.dockerfile,
        "--tag", `${input.repositoryUrl}:${input.tag}`,
        // Build and push in one step, as a single-platform manifest without an
        // attestation index, so the digest ECR reports is the one ECS pulls.
        "--push",
        "--provenance=false",
        ...buildArgs,
        ...cacheFrom,
        // Inline cache lets the next build use this image as CACHE_FROM_TAG.
        "--cache-to", "type=inline",
        input.context,
    ];
}

export function createEcr(region: string, registryId?: string): EcrApi {
    const client = new ECRClient({ region });
    return {
        async findDigest(repositoryName, tag) {
            try {
                const out = await client.send(new DescribeImagesCommand({ registryId, repositoryName, imageIds: [{ imageTag: tag }] }));
                return out.imageDetails?.[0]?.imageDigest;
            } catch (e) {
                if ((e as Error).name === "ImageNotFoundException") {
                    return undefined;
                }
                throw e;
            }
        },
        async loginPassword() {
            const out = await client.send(new GetAuthorizationTokenCommand({}));
            const data = out.authorizationData?.[0];
            if (!data?.authorizationToken || !data.proxyEndpoint) {
                throw new Error("ECR returned no authorization token");
            }
            const decoded = Buffer.from(data.authorizationToken, "base64").toString("utf8");
            const colon = decoded.indexOf(":");
            if (colon <= 0) {
                throw new Error("ECR returned a malformed authorization token");
            }
            return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), endpoint: data.proxyEndpoint };
        },
    };
}

// stdout is reserved for the final reference, so docker's stdout goes to stderr.
export const dockerCli: DockerCli = (args, stdin) =>
    new Promise((resolve, reject) => {
        const child = spawn("docker", args, { stdio: [stdin === undefined ? "ignore" : "pipe", 2, 2] });
        child.on("error", reject);
        child.on("close", (code, signal) => {
            if (code === 0) {
                resolve();
            } else {
                const rest = args[0] === "--config" ? args.slice(2) : args;
                const command = rest.slice(0, rest[0] === "buildx" ? 2 : 1).join(" ");
                reject(new Error(`docker ${command} failed with ${code === null ? `signal ${signal}` : `exit code ${code}`}`));
            }
        });
        // If docker exits before reading stdin, the exit code is the error to report.
        child.stdin?.on("error", () => undefined);
        child.stdin?.end(stdin);
    });

async function main(): Promise<void> {
    const input = readInput(process.env);
    // An ECR host starts with the account id; describing images in another
    // account's registry needs it explicitly.
    const account = /^(\d{12})\.dkr\./.exec(input.repositoryUrl)?.[1];
    const reference = await pushImage(input, {
        ecr: createEcr(input.region, account),
        docker: dockerCli,
        log: (s) => process.stderr.write(`${s}\n`),
    });
    process.stdout.write(`${reference}\n`);
}

/** Runs the hook as a program (its stable entry point in tools/ calls this). */
export function run(): void {
    runHook("pushImage", main);
}

if (require.main === module) {
    run();
}
