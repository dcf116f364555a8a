import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { ROOT } from "../sim/harness";

/** The test scripts' own behaviour: `npm test` must leave no server behind. */

const WITH_POSTGRES = path.join(ROOT, "app/scripts/with-postgres.sh");
const PORT = 55491;
// Directly under /tmp: as root the server runs as `postgres`, which must reach it.
const DATADIR = `/tmp/platform-test-pg-${PORT}`;
const env = { ...process.env, PGPORT: String(PORT), PGDATA_DIR: DATADIR, DATABASE_URL: "" };

function accepts(port: number): Promise<boolean> {
    return new Promise((ok) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => {
            socket.destroy();
            ok(true);
        });
        socket.on("error", () => ok(false));
    });
}

const run = (command: string) => spawnSync("bash", [WITH_POSTGRES, "bash", "-c", command], { env, encoding: "utf8" });
const stop = () => execFileSync("bash", [path.join(ROOT, "app/scripts/pg-stop.sh")], { env, stdio: "ignore" });

describe("test scripts: with-postgres.sh", function () {
    this.timeout(120_000);
    after(() => {
        stop();
        fs.rmSync(DATADIR, { recursive: true, force: true });
    });

    it("starts a server for the command and stops it afterwards", async () => {
        expect(await accepts(PORT), "nothing listens before").to.equal(false);
        const r = run(`[ -n "$DATABASE_URL" ] && (exec 3<>/dev/tcp/127.0.0.1/${PORT}) && echo "up: $DATABASE_URL"`);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.include(`up: postgres://app:app@127.0.0.1:${PORT}/app`);
        expect(await accepts(PORT), "the server is stopped after the run").to.equal(false);
        expect(fs.existsSync(path.join(DATADIR, "postmaster.pid"))).to.equal(false);
    });

    it("stops it when the command fails, and passes the failure on", async () => {
        const r = run("exit 7");
        expect(r.status).to.equal(7);
        expect(await accepts(PORT)).to.equal(false);
    });

    it("leaves alone a server that was already running, and uses DATABASE_URL when it is set", async () => {
        execFileSync("bash", [path.join(ROOT, "app/scripts/pg-start.sh")], { env, stdio: "ignore" });
        expect(await accepts(PORT)).to.equal(true);
        expect(run("true").status).to.equal(0);
        expect(await accepts(PORT), "someone else's server survives").to.equal(true);
        const given = spawnSync("bash", [WITH_POSTGRES, "bash", "-c", 'echo "$DATABASE_URL"'], { env: { ...env, DATABASE_URL: "postgres://elsewhere/db" }, encoding: "utf8" });
        expect(given.stdout.trim()).to.equal("postgres://elsewhere/db");
        stop();
        expect(await accepts(PORT)).to.equal(false);
    });
});
