import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ECRClient, ECRServiceException, ImageNotFoundException } from "@aws-sdk/client-ecr";
import { createEcr, DockerCli, dockerCli, EcrApi, pushImage, PushImageInput, readInput } from "../hooks/pushImage";

const ROOT = path.resolve(__dirname, "..");
const URL = "123456789012.dkr.ecr.us-east-1.amazonaws.com/platform-dev-app";
const BEFORE = `sha256:${"a".repeat(64)}`;
const AFTER = `sha256:${"b".repeat(64)}`;

const input = (over: Partial<PushImageInput> = {}): PushImageInput => ({
    region: "us-east-1",
    repositoryName: "platform-dev-app",
    repositoryUrl: URL,
    tag: "abc123-0f1e2d",
    context: "app",
    dockerfile: "app/Dockerfile",
    platform: "linux/amd64",
    buildArgs: {},
    ...over,
});

interface DockerCall {
    args: string[];
    stdin?: string;
    configExisted: boolean;
}

/** ECR that answers findDigest from a queue, so a test sees which answer was used. */
function fakeEcr(answers: (string | undefined | Error)[]) {
    const lookups: [string, string][] = [];
    let logins = 0;
    const ecr: EcrApi = {
        async findDigest(repositoryName, tag) {
            lookups.push([repositoryName, tag]);
            const answer = answers.shift();
            if (answer instanceof Error) {
                throw answer;
            }
            return answer;
        },
        async loginPassword() {
            logins++;
            return { username: "AWS", password: "s3cret-token", endpoint: `https://${URL.split("/")[0]}` };
        },
    };
    return { ecr, lookups, logins: () => logins };
}

function fakeDocker(fail?: (args: string[]) => Error | undefined) {
    const calls: DockerCall[] = [];
    const docker: DockerCli = async (args, stdin) => {
        const config = args[0] === "--config" ? args[1] : "";
        calls.push({ args, stdin, configExisted: config !== "" && fs.existsSync(config) });
        const error = fail?.(args);
        if (error) {
            throw error;
        }
    };
    return { docker, calls };
}

const quiet = () => undefined;

describe("hooks/pushImage", () => {
    describe("pushImage", () => {
        it("reuses an existing tag: returns ECR's digest and never logs in or runs docker", async () => {
            const ecr = fakeEcr([BEFORE]);
            const { docker, calls } = fakeDocker();
            const logs: string[] = [];
            const ref = await pushImage(input(), { ecr: ecr.ecr, docker, log: (s) => logs.push(s) });
            expect(ref).to.equal(`${URL}@${BEFORE}`);
            expect(ecr.lookups).to.deep.equal([["platform-dev-app", "abc123-0f1e2d"]]);
            expect(ecr.logins()).to.equal(0);
            expect(calls).to.deep.equal([]);
            expect(logs.join("\n")).to.include("tag exists in ECR: reusing, not building");
        });

        it("builds and pushes a missing tag in one buildx call and returns the digest ECR reports afterwards", async () => {
            const ecr = fakeEcr([undefined, AFTER]);
            const { docker, calls } = fakeDocker();
            const ref = await pushImage(
                input({ buildArgs: { ZED: "last", ALPHA: "first", MID: "a=b c" }, cacheFromTag: "previous-tag" }),
                { ecr: ecr.ecr, docker, log: quiet },
            );

            expect(ref).to.equal(`${URL}@${AFTER}`);
            expect(ecr.lookups).to.have.length(2);
            expect(ecr.logins()).to.equal(1);
            expect(calls).to.have.length(2);

            const [login, build] = calls;
            const config = login.args[1];
            expect(login.args).to.deep.equal([
                "--config", config, "login", "--username", "AWS", "--password-stdin", "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            ]);
            expect(login.stdin).to.equal("s3cret-token");
            expect(login.args.join(" ")).not.to.include("s3cret-token");
            expect(login.configExisted).to.equal(true);
            expect(path.dirname(config)).to.equal(os.tmpdir());

            expect(build.stdin).to.equal(undefined);
            expect(build.configExisted).to.equal(true);
            expect(build.args).to.deep.equal([
                "--config", config,
                "buildx", "build",
                "--platform", "linux/amd64",
                "--file", "app/Dockerfile",
                "--tag", `${URL}:abc123-0f1e2d`,
                "--push",
                "--provenance=false",
                "--build-arg", "ALPHA=first",
                "--build-arg", "MID=a=b c",
                "--build-arg", "ZED=last",
                "--cache-from", `type=registry,ref=${URL}:previous-tag`,
                "--cache-to", "type=inline",
                "app",
            ]);
            expect(fs.existsSync(config)).to.equal(false);
        });

        it("passes no --cache-from when no cache tag is given", async () => {
            const { docker, calls } = fakeDocker();
            await pushImage(input({ platform: "linux/arm64" }), { ecr: fakeEcr([undefined, AFTER]).ecr, docker, log: quiet });
            const build = calls[1].args;
            expect(build.join(" ")).not.to.include("--cache-from");
            expect(build.join(" ")).not.to.include("--build-arg");
            expect(build[build.indexOf("--platform") + 1]).to.equal("linux/arm64");
            expect(build[build.length - 1]).to.equal("app");
        });

        it("propagates a build failure, returns nothing and still removes the temporary docker config", async () => {
            const ecr = fakeEcr([undefined, AFTER]);
            const { docker, calls } = fakeDocker((args) => (args.includes("buildx") ? new Error("docker buildx build failed with exit code 1") : undefined));
            let result: string | undefined;
            let error: Error | undefined;
            try {
                result = await pushImage(input(), { ecr: ecr.ecr, docker, log: quiet });
            } catch (e) {
                error = e as Error;
            }
            expect(result).to.equal(undefined);
            expect(error?.message).to.equal("docker buildx build failed with exit code 1");
            expect(calls).to.have.length(2);
            expect(calls[1].configExisted).to.equal(true);
            expect(fs.existsSync(calls[1].args[1])).to.equal(false);
            expect(ecr.lookups).to.have.length(1);
        });

        it("propagates ECR errors other than not-found without logging in or building", async () => {
            const denied = new Error("User is not authorized to perform: ecr:DescribeImages");
            denied.name = "AccessDeniedException";
            const ecr = fakeEcr([denied]);
            const { docker, calls } = fakeDocker();
            let error: Error | undefined;
            await pushImage(input(), { ecr: ecr.ecr, docker, log: quiet }).catch((e: Error) => (error = e));
            expect(error).to.equal(denied);
            expect(ecr.logins()).to.equal(0);
            expect(calls).to.deep.equal([]);
        });

        it("fails when ECR still does not list the tag after the push", async () => {
            const { docker } = fakeDocker();
            let error: Error | undefined;
            await pushImage(input(), { ecr: fakeEcr([undefined, undefined]).ecr, docker, log: quiet }).catch((e: Error) => (error = e));
            expect(error?.message).to.match(/ECR does not list it/);
        });

        it("rejects a digest that is not sha256:<64 hex>", async () => {
            const { docker } = fakeDocker();
            let error: Error | undefined;
            await pushImage(input(), { ecr: fakeEcr(["sha256:short"]).ecr, docker, log: quiet }).catch((e: Error) => (error = e));
            expect(error?.message).to.match(/unexpected digest/);
        });
    });

    describe("readInput", () => {
        const valid = (): NodeJS.ProcessEnv => ({
            AWS_REGION: "us-east-1",
            REPOSITORY_NAME: "platform-dev-app",
            REPOSITORY_URL: URL,
            IMAGE_TAG: "abc123-0f1e2d",
            CONTEXT: path.join(ROOT, "tests"),
            DOCKERFILE: path.join(ROOT, "tools", "pushImage.ts"),
            PLATFORM: "linux/arm64",
            BUILD_ARGS: '{"B":"2","A":"1"}',
            CACHE_FROM_TAG: "older_tag.1",
        });

        it("parses a valid environment", () => {
            expect(readInput(valid())).to.deep.equal({
                region: "us-east-1",
                repositoryName: "platform-dev-app",
                repositoryUrl: URL,
                tag: "abc123-0f1e2d",
                context: path.join(ROOT, "tests"),
                dockerfile: path.join(ROOT, "tools", "pushImage.ts"),
                platform: "linux/arm64",
                buildArgs: { A: "1", B: "2" },
                cacheFromTag: "older_tag.1",
            });
        });

        it("treats empty or unset optional variables as absent", () => {
            for (const value of [undefined, ""]) {
                const parsed = readInput({ ...valid(), BUILD_ARGS: value, CACHE_FROM_TAG: value });
                expect(parsed.buildArgs).to.deep.equal({});
                expect(parsed.cacheFromTag).to.equal(undefined);
            }
        });

        for (const name of ["AWS_REGION", "REPOSITORY_NAME", "REPOSITORY_URL", "IMAGE_TAG", "CONTEXT", "DOCKERFILE", "PLATFORM"]) {
            it(`rejects a missing or empty ${name}`, () => {
                for (const value of [undefined, "", "  "]) {
                    expect(() => readInput({ ...valid(), [name]: value })).to.throw(Error, `${name} is required`);
                }
            });
        }

        const invalid: [string, string, RegExp][] = [
            ["IMAGE_TAG", "has space", /IMAGE_TAG/],
            ["IMAGE_TAG", ".leading-dot", /IMAGE_TAG/],
            ["IMAGE_TAG", "a".repeat(129), /IMAGE_TAG/],
            ["IMAGE_TAG", "a/b", /IMAGE_TAG/],
            ["CACHE_FROM_TAG", "-leading-dash", /CACHE_FROM_TAG/],
            ["PLATFORM", "linux/386", /PLATFORM/],
            ["PLATFORM", "amd64", /PLATFORM/],
            ["BUILD_ARGS", "not json", /BUILD_ARGS is not valid JSON/],
            ["BUILD_ARGS", '["A=1"]', /BUILD_ARGS must be a JSON object/],
            ["BUILD_ARGS", "null", /BUILD_ARGS must be a JSON object/],
            ["BUILD_ARGS", '{"A":1}', /BUILD_ARGS\.A must be a string/],
            ["BUILD_ARGS", '{"A=B":"1"}', /BUILD_ARGS key/],
            ["REPOSITORY_URL", "123456789012.dkr.ecr.us-east-1.amazonaws.com/other", /REPOSITORY_URL/],
            ["REPOSITORY_URL", "platform-dev-app", /REPOSITORY_URL/],
            ["CONTEXT", path.join(ROOT, "does-not-exist"), /CONTEXT/],
            ["DOCKERFILE", path.join(ROOT, "tests"), /DOCKERFILE/],
        ];
        for (const [name, value, message] of invalid) {
            it(`rejects ${name}=${value.length > 40 ? `${value.slice(0, 20)}…` : value}`, () => {
                expect(() => readInput({ ...valid(), [name]: value })).to.throw(Error, message);
            });
        }

        it("accepts the longest tag ECR allows", () => {
            expect(readInput({ ...valid(), IMAGE_TAG: "a".repeat(128) }).tag).to.have.length(128);
        });
    });

    describe("createEcr (ECR client stubbed, no AWS)", () => {
        const send = ECRClient.prototype.send;
        afterEach(() => {
            ECRClient.prototype.send = send;
        });
        const stubSend = (reply: (command: { input: any }) => unknown) => {
            ECRClient.prototype.send = (async (command: { input: any }) => reply(command)) as any;
        };

        it("findDigest returns the digest, undefined on ImageNotFoundException, and rethrows other errors", async () => {
            const seen: any[] = [];
            stubSend((command) => {
                seen.push(command.input);
                return { imageDetails: [{ imageDigest: AFTER }] };
            });
            const ecr = createEcr("us-east-1", "123456789012");
            expect(await ecr.findDigest("platform-dev-app", "t1")).to.equal(AFTER);
            expect(seen).to.deep.equal([{ registryId: "123456789012", repositoryName: "platform-dev-app", imageIds: [{ imageTag: "t1" }] }]);

            stubSend(() => {
                throw new ImageNotFoundException({ message: "not found", $metadata: {} });
            });
            expect(await ecr.findDigest("platform-dev-app", "t1")).to.equal(undefined);

            const other = new ECRServiceException({ name: "RepositoryNotFoundException", $fault: "client", $metadata: {}, message: "no repo" });
            stubSend(() => {
                throw other;
            });
            let error: unknown;
            await ecr.findDigest("platform-dev-app", "t1").catch((e) => (error = e));
            expect(error).to.equal(other);
        });

        it("loginPassword decodes the base64 AWS:password token", async () => {
            stubSend(() => ({
                authorizationData: [{ authorizationToken: Buffer.from("AWS:pa:ss").toString("base64"), proxyEndpoint: "https://reg.example" }],
            }));
            expect(await createEcr("us-east-1").loginPassword()).to.deep.equal({ username: "AWS", password: "pa:ss", endpoint: "https://reg.example" });
        });
    });

    describe("dockerCli (fake docker on PATH)", () => {
        let bin: string;
        const savedPath = process.env.PATH;
        before(() => {
            bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
            // Records its arguments and stdin, and fails when asked to.
            fs.writeFileSync(
                path.join(bin, "docker"),
                '#!/bin/sh\nprintf "%s\\n" "$@" > "$0.args"\ncat > "$0.stdin"\nif [ "$1" = fail ]; then exit 7; fi\n',
                { mode: 0o755 },
            );
            process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
        });
        after(() => {
            process.env.PATH = savedPath;
            fs.rmSync(bin, { recursive: true, force: true });
        });

        it("passes args and stdin through and resolves on exit 0", async () => {
            await dockerCli(["login", "--password-stdin", "reg"], "pw");
            expect(fs.readFileSync(path.join(bin, "docker.args"), "utf8")).to.equal("login\n--password-stdin\nreg\n");
            expect(fs.readFileSync(path.join(bin, "docker.stdin"), "utf8")).to.equal("pw");
        });

        it("rejects with the exit code", async () => {
            let error: Error | undefined;
            await dockerCli(["fail"]).catch((e: Error) => (error = e));
            expect(error?.message).to.equal("docker fail failed with exit code 7");
        });
    });

    it("CLI: with no inputs exits 1 with one 'pushImage:' line on stderr naming a missing variable", function () {
        this.timeout(60000);
        const run = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", "tools/pushImage.ts"], {
            cwd: ROOT,
            env: { PATH: process.env.PATH },
            encoding: "utf8",
        });
        expect(run.status).to.equal(1);
        expect(run.stdout).to.equal("");
        const lines = run.stderr.split("\n").filter((l) => l !== "");
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(/^pushImage: environment variable AWS_REGION is required$/);
    });
});
