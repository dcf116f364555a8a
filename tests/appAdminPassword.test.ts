import { expect } from "chai";
import { APP_ADMIN_USERNAME, DjangoService } from "../components/app/djangoService";
import { named, ofType, runComponent, stackRun, STACKS, StackRun } from "../sim/harness";
import { djangoServiceArgs } from "./components/fixtures";

/**
 * The app's first superuser, with ECS Exec off: a generated password in a
 * Secrets Manager secret of its own (JSON keys `username`, `password`), which
 * only the migrate container receives (as DJANGO_SUPERUSER_USERNAME and
 * DJANGO_SUPERUSER_PASSWORD, for app/core/management/commands/ensure_admin.py),
 * and the stack output `appAdminPasswordSecretArn` naming it.
 */

const T = {
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    password: "random:index/randomPassword:RandomPassword",
    td: "aws:ecs/taskDefinition:TaskDefinition",
    policy: "aws:iam/rolePolicy:RolePolicy",
    db: "aws:rds/instance:Instance",
} as const;
const ADMIN_ENV = ["DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD"];

type Container = { name: string; secrets?: { name: string; valueFrom: string }[]; environment?: { name: string; value: string }[] };
const containers = (run: StackRun): Container[] => JSON.parse(named(run, T.td, "app").inputs.containerDefinitions);
const readSecrets = (run: StackRun): string[] => JSON.parse(named(run, T.policy, "app-execution-policy").inputs.policy).Statement.find((s: any) => s.Sid === "ReadSecrets").Resource;

describe("The app's first admin password, as a stack output", () => {
    for (const stack of STACKS) {
        describe(stack, () => {
            it("appAdminPasswordSecretArn names the one secret app-admin, holding the username and the generated password", async () => {
                const run = await stackRun(stack);
                const arn = run.outputs.appAdminPasswordSecretArn;
                expect(arn).to.be.a("string").and.match(/^arn:aws:secretsmanager:/);
                const secrets = ofType(run, T.secret).filter((s) => s.state.arn === arn);
                expect(secrets.map((s) => s.name), "one Secrets Manager secret has that ARN").to.deep.equal(["app-admin"]);
                const generator = named(run, T.password, "app-admin-password");
                expect(generator.inputs).to.include({ length: 32, special: false });
                const version = named(run, T.secretVersion, "app-admin");
                expect(version.inputs.secretId).to.equal(secrets[0].id);
                expect(JSON.parse(version.inputs.secretString)).to.deep.equal({ username: APP_ADMIN_USERNAME, password: generator.state.result });
                expect(APP_ADMIN_USERNAME).to.equal("admin");
            });

            it("only the migrate container gets it, through ECS secrets, from that secret's keys", async () => {
                const run = await stackRun(stack);
                const arn = run.outputs.appAdminPasswordSecretArn as string;
                const all = containers(run);
                expect(all.map((c) => c.name).sort()).to.deep.equal(["migrate", "web"]);
                for (const c of all) {
                    const refs = (c.secrets ?? []).filter((s) => ADMIN_ENV.includes(s.name) || s.valueFrom.startsWith(arn));
                    if (c.name === "migrate") {
                        expect(refs, c.name).to.deep.equal([
                            { name: "DJANGO_SUPERUSER_USERNAME", valueFrom: `${arn}:username::` },
                            { name: "DJANGO_SUPERUSER_PASSWORD", valueFrom: `${arn}:password::` },
                        ]);
                    } else {
                        expect(refs, c.name).to.deep.equal([]);
                    }
                    // Never as a plain environment value, in any container.
                    expect((c.environment ?? []).map((e) => e.name), c.name).to.not.include.members(ADMIN_ENV);
                    expect(JSON.stringify(c.environment ?? []), c.name).to.not.include(named(run, T.password, "app-admin-password").state.result);
                }
                // Every task definition of the stack: no other task reads it either.
                const readers = ofType(run, T.td)
                    .flatMap((t) => (JSON.parse(t.inputs.containerDefinitions) as Container[]).map((c) => ({ task: t.name, c })))
                    .filter(({ c }) => (c.secrets ?? []).some((s) => s.valueFrom.startsWith(arn)));
                expect(readers.map(({ task, c }) => `${task}/${c.name}`)).to.deep.equal(["app/migrate"]);
            });

            it("the execution role may read that secret in addition to the database's and the SECRET_KEY's, nothing else", async () => {
                const run = await stackRun(stack);
                const master = named(run, T.db, "app-db").state.masterUserSecrets[0].secretArn;
                const key = named(run, T.secret, "app-secret-key").state.arn;
                expect(readSecrets(run)).to.deep.equal([master, key, run.outputs.appAdminPasswordSecretArn]);
                // No task starts before the value is stored.
                expect(named(run, T.td, "app").dependencies).to.include(named(run, T.secretVersion, "app-admin").urn);
            });

            it(`the secret and its generator are ${stack === "prod" ? "protected, with the 30-day recovery window" : "not protected (a disposable stack)"}`, async () => {
                const run = await stackRun(stack);
                const prod = stack === "prod";
                const secret = named(run, T.secret, "app-admin");
                expect(secret.protect).to.equal(prod);
                expect(secret.inputs.recoveryWindowInDays).to.equal(prod ? 30 : 0);
                expect(named(run, T.password, "app-admin-password").protect).to.equal(prod);
            });
        });
    }

    it("component: DjangoService's adminPasswordSecretArn is its app-admin secret; protected with the context", async () => {
        for (const protect of [true, false]) {
            const run = await runComponent(() => new DjangoService("app", djangoServiceArgs({ context: { protect } })));
            expect(run.error).to.equal(undefined);
            expect(run.outputs.adminPasswordSecretArn).to.equal(named(run, T.secret, "app-admin").state.arn);
            expect(named(run, T.secret, "app-admin").protect, `protect ${protect}`).to.equal(protect);
            expect(named(run, T.password, "app-admin-password").protect, `protect ${protect}`).to.equal(protect);
        }
    });
});
