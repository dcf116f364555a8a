import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { expect } from "chai";
import { IMAGE_FILES, imageRefs, imageTable, isPinned, pin, tagOf } from "../facts/imagePins";
import { ROOT } from "../sim/harness";
import { readBlock } from "../tools/docBlocks";
import { committedImageRefs, IMAGES_BLOCK, IMAGES_DOC, pinImages, resolveDigest } from "../tools/pinImages";

/**
 * Every external image by digest (facts/imagePins.ts, tools/pinImages.ts).
 * The digests themselves come from the registries, which the tests do not
 * reach: docs/operations/ci-setup.md's table says which are still named by
 * tag only, and it must be what the files say.
 */

const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const allRefs = () => committedImageRefs(ROOT);

/** docs/operations/ci-setup.md's pending rows: `| \`ref\` | where | pending |`. */
function pendingInDocs(): string[] {
    const table = readBlock(read(IMAGES_DOC), IMAGES_BLOCK) ?? "";
    return [...table.matchAll(/^\| `([^`]+)` \|[^|]*\| pending/gm)].map((m) => m[1]);
}

/** The committed text with every digest taken out: what the pinning tests start from, whatever is pinned today. */
const unpinned = (text: string) => text.replace(/@sha256:[0-9a-f]{64}/g, "");

/** A registry that wants Docker Hub's anonymous bearer token, and serves one tag's index digest. */
async function fakeRegistry(digest: string) {
    const seen: { url: string; accept?: string; auth?: string }[] = [];
    const server = http.createServer((req, res) => {
        seen.push({ url: req.url!, accept: req.headers.accept, auth: req.headers.authorization });
        const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        if (req.url!.startsWith("/token")) {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "anon" }));
        } else if (req.headers.authorization !== "Bearer anon") {
            res.writeHead(401, { "www-authenticate": `Bearer realm="${base}/token",service="registry.docker.io",scope="repository:x:pull"` }).end();
        } else if (req.method === "HEAD" && /^\/v2\/[\w/.-]+\/manifests\/[\w.-]+$/.test(req.url!) && req.headers.accept?.includes("application/vnd.oci.image.index.v1+json")) {
            res.writeHead(200, { "docker-content-digest": digest }).end();
        } else {
            res.writeHead(404).end();
        }
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { seen, endpoint: () => url, close: () => new Promise((ok) => server.close(ok)) };
}

describe("every external image pinned by digest", () => {
    it("knows every Dockerfile of the repository and finds an image in each file", () => {
        const dockerfiles = spawnSync("git", ["ls-files", "*Dockerfile*"], { cwd: ROOT, encoding: "utf8" }).stdout.trim().split("\n");
        expect(IMAGE_FILES).to.include.members(dockerfiles);
        for (const f of IMAGE_FILES) {
            expect(imageRefs(f, read(f)), f).to.not.deep.equal([]);
        }
        // The pipeline's four (the image-building two written out, behind their anchors) and the runner's default job image among them.
        expect(allRefs().filter((r) => r.file === ".gitlab-ci.yml").map((r) => tagOf(r.ref))).to.deep.equal(["node:20.19.5-bookworm", "postgres:17.6-bookworm", "docker:27.5.1", "docker:27.5.1-dind"]);
    });

    it("each image is pinned (name:tag@sha256:<64 hex>), or pending in docs/operations/ci-setup.md's table, which is what the files say (npm run docs)", () => {
        const byTag = allRefs()
            .filter((r) => !isPinned(r.ref))
            .map((r) => r.ref);
        expect([...new Set(pendingInDocs())].sort()).to.deep.equal([...new Set(byTag)].sort());
        expect(readBlock(read(IMAGES_DOC), IMAGES_BLOCK)).to.equal(imageTable(committedImageRefs(ROOT)));
        for (const r of allRefs().filter((x) => x.ref.includes("@"))) {
            expect(isPinned(r.ref), `${r.file}:${r.line} ${r.ref}`).to.equal(true);
        }
    });

    it("pins one reference where it is named, and a refresh replaces the digest, nothing else", () => {
        const ci = unpinned(read(".gitlab-ci.yml"));
        const a = `sha256:${"a1".repeat(32)}`;
        const b = `sha256:${"b2".repeat(32)}`;
        const changed = (x: string, y: string) => x.split("\n").filter((l, i) => l !== y.split("\n")[i]);
        // Through the Docker Hub mirror's prefix, and written out behind an anchor.
        for (const [ref, line] of [
            ["postgres:17.6-bookworm", "  POSTGRES_IMAGE: $DOCKER_HUB_MIRROR/library/postgres:17.6-bookworm"],
            ["docker:27.5.1", "  DOCKER_IMAGE: &docker-image docker:27.5.1"],
        ]) {
            const once = pin(ci, ref, a);
            expect(changed(once, ci)).to.deep.equal([`${line}@${a}`]);
            expect(imageRefs(".gitlab-ci.yml", once).filter((r) => isPinned(r.ref)).map((r) => r.ref)).to.deep.equal([`${ref}@${a}`]);
            const again = pin(once, `${ref}@${a}`, b);
            expect(changed(again, ci)).to.deep.equal([`${line}@${b}`]);
        }
        expect(() => pin(ci, "docker:27.5.1", "sha256:short")).to.throw(/not a digest/);
    });

    it("asks the registry for the tag's index digest, with Docker Hub's anonymous token, and pins every file", async () => {
        const digest = `sha256:${"c3".repeat(32)}`;
        const reg = await fakeRegistry(digest);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pin-"));
        try {
            expect(await resolveDigest("node:20.19.5-bookworm", fetch, reg.endpoint)).to.equal(digest);
            // Official images live under library/; the second request carries the token.
            expect(reg.seen.map((s) => s.url.split("?")[0])).to.deep.equal(["/v2/library/node/manifests/20.19.5-bookworm", "/token", "/v2/library/node/manifests/20.19.5-bookworm"]);
            for (const f of IMAGE_FILES) {
                fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
                fs.writeFileSync(path.join(dir, f), unpinned(read(f)));
            }
            await pinImages(dir, { endpoint: reg.endpoint });
            const after = IMAGE_FILES.flatMap((f) => imageRefs(f, fs.readFileSync(path.join(dir, f), "utf8")));
            expect(after.length).to.equal(allRefs().length);
            expect(after.filter((r) => !isPinned(r.ref))).to.deep.equal([]);
            // The table then shows each image's digest and none pending.
            const table = imageTable(committedImageRefs(dir));
            expect(table).to.not.include("pending");
            expect(table).to.include(`| \`node:20.19.5-bookworm\` | \`.gitlab-ci.yml\`, \`ci/test.Dockerfile\` | \`${digest.slice(0, 19)}…\` |`);
            // Nothing is asked twice, nothing but images changes.
            expect(await pinImages(dir, { endpoint: reg.endpoint })).to.deep.equal([]);
        } finally {
            await reg.close();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
