import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { gitalyPlacement, gitalyUserData, GITALY_HOST_PATH, GITALY_VOLUME_ATTRIBUTE } from "../components/gitlab/gitalyHost";
import { ecsOptimizedAmi } from "../aws/ec2";

const VOLUME = "vol-0123456789abcdef0";
const ME = "i-0aaaaaaaaaaaaaaaa";
const OLD = "i-0bbbbbbbbbbbbbbbb";
const CLUSTER = "platform-prod-cluster";

/**
 * The Gitaly host's user data, run for real by bash against a fake host: a
 * scratch root (GITALY_HOST_ROOT) and fakes on PATH for curl (IMDS), aws, the
 * file-system tools and mount. The fake `aws` plays the volume: a list of
 * states it reports in turn (the last repeats), and attach-volume makes the
 * NVMe device appear, empty or holding a file system.
 */
interface Scenario {
    /** What describe-volumes says, poll after poll: "available", "in-use <instance>", or "error" (the call fails). */
    states: string[];
    /** What the device holds once attached: zeros (new), an XFS file system, unknown data (one starting with a newline), or less than a MiB that can be read. */
    device: "new" | "xfs" | "data" | "newline-data" | "short";
    /** Leave `aws` off PATH, so the script must install it. */
    noAwsCli?: boolean;
    attachTries?: number;
}

function host(s: Scenario) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gitaly-host-"));
    const root = path.join(dir, "root");
    const bin = path.join(dir, "bin");
    const log = path.join(dir, "calls");
    const state = path.join(dir, "state");
    fs.mkdirSync(path.join(root, "dev/disk/by-id"), { recursive: true });
    fs.mkdirSync(path.join(root, "etc"), { recursive: true });
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(root, "dev/zero"), Buffer.alloc(1 << 20));
    fs.writeFileSync(path.join(root, "etc/fstab"), "UUID=root / xfs defaults 0 1\n");
    fs.writeFileSync(state, `${s.states.join("\n")}\n`);
    const device = path.join(root, `dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${VOLUME.replace("-", "")}`);
    const initial = { new: "", xfs: "XFSB", data: "DATA already on the volume", "newline-data": "\\nDATA after a newline", short: "" }[s.device];
    const size = s.device === "short" ? 4096 : 1048576;
    const record = `printf '%s\\t' "$(basename "$0")" "$@" >>'${log}'; echo >>'${log}'`;
    const fake = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/bash\n${record}\n${body}\n`, { mode: 0o755 });
    fake(
        "curl",
        `case "$*" in
  *api/token*) echo TOKEN ;;
  *instance-id*) [[ "$*" == *"X-aws-ec2-metadata-token: TOKEN"* ]] || exit 22; echo ${ME} ;;
  *) exit 22 ;;
esac`,
    );
    const aws = `case "$2" in
  describe-volumes)
    line=$(head -n1 '${state}'); [ "$(wc -l <'${state}')" -gt 1 ] && sed -i 1d '${state}'
    [ "$line" = error ] && { echo "An error occurred (RequestLimitExceeded)" >&2; exit 254; }
    set -- $line
    echo -e "$1\\t\${2:-None}" ;;
  attach-volume)
    echo "in-use ${ME}" >'${state}'
    head -c ${size} /dev/zero >'${device}'
    printf '${initial}' | dd of='${device}' conv=notrunc status=none ;;
esac`;
    if (s.noAwsCli) {
        // dnf install awscli-2 puts aws on PATH.
        fake("dnf", `cat >'${bin}/aws' <<'AWS'\n#!/bin/bash\n${record}\n${aws}\nAWS\nchmod +x '${bin}/aws'`);
    } else {
        fake("aws", aws);
    }
    fake("blkid", `[ "$(head -c 4 "$2")" = XFSB ] || exit 2`);
    fake("mkfs.xfs", `printf XFSB | dd of="\${@: -1}" conv=notrunc status=none`);
    fake("mount", `touch "$2/.mounted"`);
    fake("mountpoint", `[ -e "$2/.mounted" ]`);
    fake("xfs_growfs", "true");
    fake("udevadm", "true");
    fake("sleep", "true");
    fake("systemctl", "true");
    fake("shutdown", "true");
    const script = path.join(dir, "user-data");
    fs.writeFileSync(script, gitalyUserData({ volumeId: VOLUME, region: "us-east-1", clusterName: CLUSTER }), { mode: 0o755 });
    // A PATH without the real aws CLI, if this machine has one.
    const r = spawnSync("bash", [script], {
        env: { PATH: `${bin}:/usr/bin:/bin`, GITALY_HOST_ROOT: root, IMDS_ENDPOINT: "http://imds.test", ATTACH_TRIES: String(s.attachTries ?? 10), DEVICE_TRIES: "3", SLEEP: "0" },
        encoding: "utf8",
        timeout: 30_000,
    });
    const calls = fs.existsSync(log)
        ? fs
              .readFileSync(log, "utf8")
              .trim()
              .split("\n")
              .map((l) => l.replace(/\t$/, "").split("\t"))
        : [];
    const ecsConfig = path.join(root, "etc/ecs/ecs.config");
    const dropIn = path.join(root, "etc/systemd/system/ecs.service.d/10-gitaly-volume.conf");
    const result = {
        r,
        dropIn: fs.existsSync(dropIn) ? fs.readFileSync(dropIn, "utf8") : undefined,
        calls,
        called: (tool: string) => calls.filter((c) => c[0] === tool),
        ecsConfig: fs.existsSync(ecsConfig) ? fs.readFileSync(ecsConfig, "utf8") : undefined,
        fstab: fs.readFileSync(path.join(root, "etc/fstab"), "utf8"),
        deviceHead: fs.existsSync(device) ? fs.readFileSync(device).subarray(0, 4).toString() : undefined,
    };
    fs.rmSync(dir, { recursive: true, force: true });
    return result;
}

describe("Gitaly host user data (gitalyHost.sh, run by bash against a fake host)", () => {
    it("renders valid bash with its variables quoted", () => {
        const text = gitalyUserData({ volumeId: VOLUME, region: "us-east-1", clusterName: CLUSTER });
        expect(text.startsWith("#!/bin/bash\n")).to.equal(true);
        expect(text).to.include(`VOLUME_ID='${VOLUME}'`);
        expect(text).to.include(`MOUNT_POINT='${GITALY_HOST_PATH}'`);
        expect(text.match(/^#!/gm)).to.have.length(1);
        const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
        expect(r.status, r.stderr).to.equal(0);
        // User data is at most 16 KB before base64.
        expect(Buffer.byteLength(text)).to.be.lessThan(16 * 1024);
    });

    it("first boot: attaches the new volume, formats it, mounts it, and only then configures the ECS agent", () => {
        const h = host({ states: ["available"], device: "new" });
        expect(h.r.status, h.r.stderr).to.equal(0);
        const attach = h.called("aws").find((c) => c[2] === "attach-volume")!;
        expect(attach).to.include.members(["--volume-id", VOLUME, "--instance-id", ME, "--device", "/dev/xvdf"]);
        expect(h.called("mkfs.xfs")).to.have.length(1);
        expect(h.called("mkfs.xfs")[0]).to.include.members(["-L", "gitaly"]);
        expect(h.deviceHead).to.equal("XFSB");
        expect(h.called("mount")).to.have.length(1);
        expect(h.fstab).to.include(`LABEL=gitaly ${GITALY_HOST_PATH} xfs defaults,noatime,nofail 0 2`);
        expect(h.ecsConfig).to.include(`ECS_CLUSTER=${CLUSTER}\n`);
        expect(h.ecsConfig).to.include(`ECS_INSTANCE_ATTRIBUTES={"${GITALY_VOLUME_ATTRIBUTE}":"${VOLUME}"}`);
        expect(h.ecsConfig).to.include("ECS_AWSVPC_BLOCK_IMDS=true");
        // The agent is configured after the mount, never before.
        const order = h.calls.map((c) => c[0]);
        expect(order.indexOf("mount")).to.be.greaterThan(order.indexOf("mkfs.xfs"));
        // On every later boot the agent waits for the volume's mount (no Gitaly on an empty root-disk directory).
        expect(h.dropIn).to.equal(`[Unit]\nRequiresMountsFor=${GITALY_HOST_PATH}\n`);
        expect(h.called("systemctl")).to.deep.equal([["systemctl", "daemon-reload"]]);
        expect(h.called("shutdown")).to.deep.equal([]);
    });

    it("retries a failed describe-volumes call (throttling, a network blip) instead of giving up", () => {
        const h = host({ states: ["error", "error", "available"], device: "xfs" });
        expect(h.r.status, h.r.stderr).to.equal(0);
        expect(h.called("aws").filter((c) => c[2] === "describe-volumes").length).to.be.at.least(4);
        expect(h.ecsConfig).to.include(`ECS_CLUSTER=${CLUSTER}`);
    });

    it("replacement: waits while the old instance still holds the volume, then re-attaches it and keeps its data (no mkfs)", () => {
        const h = host({ states: [`in-use ${OLD}`, `in-use ${OLD}`, "available"], device: "xfs" });
        expect(h.r.status, h.r.stderr).to.equal(0);
        const aws = h.called("aws").map((c) => c[2]);
        expect(aws.filter((c) => c === "describe-volumes").length).to.be.at.least(3);
        expect(aws.filter((c) => c === "attach-volume")).to.have.length(1);
        // Never attached while another instance held it.
        expect(aws.indexOf("attach-volume")).to.be.greaterThan(1);
        expect(h.called("mkfs.xfs")).to.deep.equal([]);
        expect(h.deviceHead).to.equal("XFSB");
        expect(h.called("xfs_growfs")).to.have.length(1);
        expect(h.ecsConfig).to.include(`"${VOLUME}"`);
    });

    it("uses IMDSv2: the instance id is read with the session token", () => {
        const h = host({ states: ["available"], device: "xfs" });
        const [put, get] = h.called("curl");
        expect(put).to.include.members(["-X", "PUT"]);
        expect(get.join(" ")).to.include("X-aws-ec2-metadata-token: TOKEN");
    });

    it("never formats a volume that holds unknown data: fails, and the ECS agent gets no cluster", () => {
        const h = host({ states: ["available"], device: "data" });
        expect(h.r.status).to.equal(1);
        expect(h.r.stderr).to.include("not formatting it");
        expect(h.called("mkfs.xfs")).to.deep.equal([]);
        expect(h.called("mount")).to.deep.equal([]);
        expect(h.ecsConfig).to.equal(undefined);
        expect(h.dropIn).to.equal(undefined);
    });

    it("never formats a volume whose data starts with a newline byte, nor one it cannot read a whole MiB of", () => {
        for (const device of ["newline-data", "short"] as const) {
            const h = host({ states: ["available"], device });
            expect(h.r.status, device).to.equal(1);
            expect(h.called("mkfs.xfs"), device).to.deep.equal([]);
            expect(h.ecsConfig, device).to.equal(undefined);
        }
    });

    it("gives up when the volume never frees up: fails, no mount, no ECS configuration, and asks the group for a new instance", () => {
        const h = host({ states: [`in-use ${OLD}`], device: "xfs", attachTries: 4 });
        expect(h.r.status).to.equal(1);
        expect(h.r.stderr).to.include(`${VOLUME} never became attached to ${ME}`);
        expect(h.called("aws").filter((c) => c[2] === "attach-volume")).to.deep.equal([]);
        expect(h.called("mount")).to.deep.equal([]);
        expect(h.ecsConfig).to.equal(undefined);
        const health = h.called("aws").filter((c) => c[1] === "autoscaling");
        expect(health).to.have.length(1);
        expect(health[0]).to.include.members(["set-instance-health", "--instance-id", ME, "--health-status", "Unhealthy", "--no-should-respect-grace-period"]);
        // And powers off: a stopped instance is replaced too, whatever the API call did.
        expect(h.called("shutdown")).to.have.length(1);
    });

    it("installs the AWS CLI when the AMI lacks it (the ECS-optimized AL2023 AMI is built on the minimal image)", () => {
        const h = host({ states: ["available"], device: "new", noAwsCli: true });
        expect(h.r.status, h.r.stderr).to.equal(0);
        expect(h.called("dnf")[0]).to.include.members(["install", "-y", "awscli-2"]);
        expect(h.ecsConfig).to.include(`ECS_CLUSTER=${CLUSTER}`);
    });

    it("places the Gitaly task by the attribute the user data writes; the AMI comes from AWS's public parameter for the architecture", () => {
        expect(gitalyPlacement(VOLUME)).to.equal(`attribute:${GITALY_VOLUME_ATTRIBUTE} == ${VOLUME}`);
        expect(ecsOptimizedAmi("X86_64")).to.equal("resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id");
        expect(ecsOptimizedAmi("ARM64")).to.equal("resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id");
    });
});
