import { expect } from "chai";
import { configEnvNames, omnibusSettings, renderOmnibusConfig } from "../components/gitlab/omnibusConfig";
import { pumaWorkers, sidekiqConcurrency } from "../components/gitlab/processSizing";
import { documentedKeyOf, DOCUMENTED_KEYS, UNDOCUMENTED_KEYS } from "../components/gitlab/omnibusKeys";
import { rubyLiteral, sym } from "../components/gitlab/ruby";
import { SECRET_ENV } from "../components/gitlab/secrets";
import { OBJECT_TYPES } from "../components/gitlab/storage";
import { dailyCron, dailyTime } from "../aws/backupPlan";
import { evaluate } from "./gitlabHelpers";

describe("GitLab: the Omnibus renderer on its own", () => {
    const args = {
        role: "single" as const,
        hostName: "git.example.org",
        registryHostName: "registry.example.org",
        sshHostName: "ssh.example.org",
        vpcCidr: "10.9.0.0/16",
        loadBalancerIdleTimeout: 1200,
        region: "eu-central-1",
        database: { host: "db.internal", port: 5432, name: "gitlabhq_production", username: "gitlab" },
        buckets: { objects: Object.fromEntries(OBJECT_TYPES.map((t) => [t, `b-${t}`])) as Record<(typeof OBJECT_TYPES)[number], string>, registry: "b-registry", backups: "b-backups" },
        cpu: 4096,
        memory: 8192,
    };

    it("fails in Ruby when a secret the config reads is missing from the environment", () => {
        const names = configEnvNames(args).filter((n) => n !== SECRET_ENV.dbKeyBase);
        expect(() => evaluate(renderOmnibusConfig(args), names)).to.throw(/key not found: "GITLAB_DB_KEY_BASE"/);
    });

    it("flags a key outside omnibus-gitlab's documented list", () => {
        expect(documentedKeyOf("gitlab_rails['db_sslmode']")).to.equal("gitlab_rails['db_sslmode']");
        expect(documentedKeyOf("gitaly['env']['AWS_REGION']")).to.equal("gitaly['env']");
        expect(documentedKeyOf("gitlab_rails['db_ssl_mode']")).to.equal(undefined);
        expect(documentedKeyOf("nginx['listen_port']")).to.equal(undefined);
        expect(documentedKeyOf("git_data_dirs")).to.equal(undefined);
        for (const k of Object.keys(UNDOCUMENTED_KEYS)) {
            expect(DOCUMENTED_KEYS, k).to.not.include(k);
        }
    });

    it("quotes strings so Ruby reads back exactly what was meant", () => {
        const tricky = "it's a \\ path with 'quotes' and #{interpolation}";
        const e = evaluate(`gitlab_rails['x'] = ${rubyLiteral(tricky)}\ngitaly['configuration'] = ${rubyLiteral(sym({ a: [1, true, "b"] }))}\n`, []);
        expect(e.settings[0].value).to.equal(tricky);
        expect(e.settings[1].value).to.deep.equal({ a: [1, true, "b"] });
    });

    it("renders no secret value and no key twice", () => {
        const settings = omnibusSettings(args);
        const paths = settings.map((x) => ("call" in x ? x.call : x.path.join("/")));
        expect(new Set(paths).size).to.equal(paths.length);
        expect(renderOmnibusConfig(args)).to.not.match(/BEGIN|PRIVATE/);
    });

    it("sizes Puma and Sidekiq from the task", () => {
        expect(pumaWorkers(4096, 8192)).to.equal(3);
        expect(pumaWorkers(8192, 16384)).to.equal(8);
        expect(pumaWorkers(4096, 30720)).to.equal(4);
        expect(pumaWorkers(16384, 8192)).to.equal(3);
        expect(sidekiqConcurrency(4096)).to.equal(20);
        expect(sidekiqConcurrency(2048)).to.equal(10);
    });

    it("turns a local time into the schedules' cron form, wrapping past midnight", () => {
        expect(dailyCron(dailyTime("02:30", "UTC"))).to.equal("cron(30 2 * * ? *)");
        expect(dailyCron(dailyTime("23:30", "Europe/Berlin", 60))).to.equal("cron(30 0 * * ? *)");
        expect(() => dailyTime("24:00", "UTC")).to.throw(/not a time of day/);
    });
});
